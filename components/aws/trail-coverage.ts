// What one account-wide Airlock trail must log for a sandbox's canary rules to fire, as pure functions
// of CloudTrail advanced event selectors. Shared by the deploy-time adoption check (shared-trail.ts,
// which reads the live trail through Cloud Control) and the invariant facts (facts.ts, which read the
// graph) so that "this trail covers this sandbox" means the same in both places.
//
// Selector shape: @pulumi/aws 7.48.0 types/input.d.ts `TrailAdvancedEventSelector{FieldSelector}`
// (fields `eventCategory`, `resources.type`, `resources.ARN`, `readOnly`, …; operators `equals`,
// `startsWiths`, `notStartsWiths`, `endsWiths`, …; "equals is the only valid operator for readOnly,
// eventCategory and resources.type").

/** The trail every AWS sandbox of an account relies on (one per account: it is multi-region). */
export const SHARED_TRAIL_NAME = "airlock-canary-trail";

/**
 * Every sandbox's artifacts bucket (where its canary objects live) starts with this, so the one trail's
 * data-event selector `resources.ARN startsWith arn:<p>:s3:::<prefix>` covers every later sandbox's
 * canary objects without being edited per sandbox. Neutral on purpose: the workload sees the bucket's
 * name in its user data (context.ts quietName). Other buckets of the account with this prefix would be
 * data-logged too (cost only); Airlock's sandbox rules match only their own bucket (killswitch.ts).
 */
export const CANARY_STORE_PREFIX = "pkgmirror-";

export interface FieldSelector {
  field: string;
  equals?: string[];
  notEquals?: string[];
  startsWiths?: string[];
  notStartsWiths?: string[];
  endsWiths?: string[];
  notEndsWiths?: string[];
}
export interface EventSelector {
  name?: string;
  fieldSelectors: FieldSelector[];
}

const arr = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
/** ARNs compared partition-blind: aws-cn / aws-us-gov spell the same shape. */
const neutral = (arn: string) => arn.replace(/^arn:[^:]+:/, "arn:aws:");

/** The ARN prefix every canary object of every sandbox has, in a partition. */
export function canaryStoreArnPrefix(partition: string): string {
  return `arn:${partition}:s3:::${CANARY_STORE_PREFIX}`;
}

/** The shared trail's selectors: all management events (canary-key use) and data events on every canary store. */
export function sharedTrailSelectors(partition: string): EventSelector[] {
  return [
    { name: "Management events (canary key use)", fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }] },
    {
      name: "Airlock canary stores",
      fieldSelectors: [
        { field: "eventCategory", equals: ["Data"] },
        { field: "resources.type", equals: ["AWS::S3::Object"] },
        { field: "resources.ARN", startsWiths: [canaryStoreArnPrefix(partition)] },
      ],
    },
  ];
}

const fieldOf = (s: EventSelector, name: string) => arr(s.fieldSelectors).find((f) => f.field === name);

/**
 * Management events reach a rule only if a selector logs them unfiltered by `readOnly` (a read-only
 * filter of `false` would drop sts:GetCallerIdentity, a stolen key's first call).
 */
export function logsManagementEvents(selectors: EventSelector[]): boolean {
  return arr(selectors).some((s) => arr(fieldOf(s, "eventCategory")?.equals).includes("Management") && !fieldOf(s, "readOnly") && !fieldOf(s, "eventSource") && !fieldOf(s, "eventName"));
}

/** Whether S3 object data events on `arn` (or on every ARN starting with it) are logged. */
export function logsObjectEvents(selectors: EventSelector[], arn: string): boolean {
  const target = neutral(arn);
  return arr(selectors).some((s) => {
    if (!arr(fieldOf(s, "eventCategory")?.equals).includes("Data")) return false;
    const type = fieldOf(s, "resources.type");
    if (type && !arr(type.equals).includes("AWS::S3::Object")) return false;
    const arnField = fieldOf(s, "resources.ARN");
    if (!arnField) return false;
    const included = arr(arnField.startsWiths).some((p) => target.startsWith(neutral(p))) || arr(arnField.equals).some((e) => neutral(e) === target);
    const excluded = arr(arnField.notStartsWiths).some((p) => target.startsWith(neutral(p)) || neutral(p).startsWith(target));
    // Only readOnly / eventName / eventSource may narrow it further; any of them could drop GetObject.
    return included && !excluded && !fieldOf(s, "readOnly") && !fieldOf(s, "eventName") && !fieldOf(s, "eventSource");
  });
}

/** A trail as Cloud Control describes it (the AWS::CloudTrail::Trail resource schema's property names). */
export interface TrailDescription {
  arn?: string;
  isLogging: boolean;
  isMultiRegion: boolean;
  selectors: EventSelector[];
}

/**
 * Cloud Control's JSON (AWS::CloudTrail::Trail: `Arn`, `IsLogging`, `IsMultiRegionTrail`,
 * `AdvancedEventSelectors[{Name, FieldSelectors[{Field, Equals, StartsWith, NotStartsWith, …}]}]`,
 * CloudFormation resource reference) in the provider's input shape.
 */
export function describeTrail(properties: string): TrailDescription {
  const p = JSON.parse(properties) ?? {};
  const selectors: EventSelector[] = arr<any>(p.AdvancedEventSelectors).map((s) => ({
    name: s.Name,
    fieldSelectors: arr<any>(s.FieldSelectors).map((f) => ({
      field: f.Field,
      equals: f.Equals,
      notEquals: f.NotEquals,
      startsWiths: f.StartsWith,
      notStartsWiths: f.NotStartsWith,
      endsWiths: f.EndsWith,
      notEndsWiths: f.NotEndsWith,
    })),
  }));
  return { arn: p.Arn, isLogging: p.IsLogging === true, isMultiRegion: p.IsMultiRegionTrail === true, selectors };
}

/**
 * What is wrong with `trail` for a sandbox whose canary store's name starts with `storeNamePrefix`
 * (the part of the bucket name known before the bucket exists). Empty when it will do.
 */
export function trailProblems(trail: TrailDescription, partition: string, storeNamePrefix: string): string[] {
  const problems: string[] = [];
  if (!trail.isLogging) problems.push("it is not logging (StopLogging was called)");
  // IAM/STS calls (a canary key's first use) are delivered in us-east-1 whatever the sandbox's region.
  if (!trail.isMultiRegion) problems.push("it is not multi-region (canary-key calls to IAM/STS land in us-east-1)");
  if (!logsManagementEvents(trail.selectors)) problems.push("no selector logs all management events (canary-key use)");
  if (!logsObjectEvents(trail.selectors, `arn:${partition}:s3:::${storeNamePrefix}`)) problems.push(`no selector logs S3 object data events on ${`arn:${partition}:s3:::${storeNamePrefix}`}… (this sandbox's canary objects)`);
  return problems;
}
