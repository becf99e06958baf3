// The per-sandbox side of the account's one Airlock trail (issue #8, AWS defect 5): a sandbox never
// creates a trail — CloudTrail allows 5 trails per region, not raisable, so a trail per sandbox made the
// fifth concurrent sandbox fail to deploy. The trail is created once per account by the account program
// (accounts/aws/, account-trail.ts); every sandbox adopts it here, read-only.
//
// Closed default: a sandbox never runs without the trail its canary kill depends on. The trail is
// looked up at preview (Cloud Control GetResource, in the trail's home region); missing, not logging,
// not multi-region, or not covering this sandbox's canary store, the deploy stops with the fix named,
// and — because the sandbox's provider waits for this check (component.ts) — before anything is created.
// What was found is kept in the sandbox's graph (AdoptedTrail) for the invariant checks.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { describeTrail, SHARED_TRAIL_NAME, TrailDescription, trailProblems } from "./trail-coverage";

/** Stack config key naming the region the account trail was deployed in (default: the sandbox's). */
export const TRAIL_REGION_CONFIG = "airlock:trailRegion";

/** The Cloud Control type of a trail (its primary identifier is the trail's name). */
const TRAIL_TYPE = "AWS::CloudTrail::Trail";

export class SharedTrailMissing extends Error {}

function fix(trailRegion: string): string {
  return `fix: deploy the account trail once per account — \`pulumi -C accounts/aws up --stack <account>\` with aws:region ${trailRegion} (docs/aws.md, "The account trail") — or set ${TRAIL_REGION_CONFIG} to the region it was deployed in`;
}

/** The refusal for a trail that is absent or will not deliver this sandbox's canary events. */
export function trailRefusal(trailRegion: string, reason: string): SharedTrailMissing {
  return new SharedTrailMissing(`the Airlock account trail '${SHARED_TRAIL_NAME}' (region ${trailRegion}) ${reason}: without it the canary rules never fire and the kill switch is dead — ${fix(trailRegion)}`);
}

/**
 * The adopted trail as the sandbox's graph shows it: a component whose outputs are what the check above
 * read from the live trail (its ARN, home region, logging, multi-region and selectors, in the
 * provider's property names). A component and not `Trail.get`: a CrossGuard pack's `validateStack`
 * is not given read resources (seen with the pinned engine), but is given a component's outputs — so
 * `airlock check`, the policy pack and this deploy-time check judge the same selectors.
 */
export const ADOPTED_TRAIL_TYPE = "airlock:aws:AdoptedTrail";

export class AdoptedTrail extends pulumi.ComponentResource {
  /** Resolves once the trail is known to cover this sandbox (rejects with SharedTrailMissing). */
  readonly arn: pulumi.Output<string>;
  constructor(name: string, described: pulumi.Output<{ arn: string; trailRegion: string; trail: TrailDescription }>, opts: pulumi.ComponentResourceOptions) {
    super(ADOPTED_TRAIL_TYPE, name, {}, opts);
    this.arn = described.apply((d) => d.arn);
    this.registerOutputs(
      described.apply((d) => ({ arn: d.arn, name: SHARED_TRAIL_NAME, region: d.trailRegion, enableLogging: d.trail.isLogging, isMultiRegionTrail: d.trail.isMultiRegion, advancedEventSelectors: d.trail.selectors })),
    );
  }
}

/**
 * Checks the account trail for a sandbox whose canary store's name starts with `storeNamePrefix`, and
 * records what was found in the sandbox's graph. `opts.provider` is a provider in the trail's home region.
 * Nothing is created: the sandbox never owns, updates or deletes the trail.
 */
export function adoptSharedTrail(name: string, args: { trailRegion: string; partition: string; storeNamePrefix: string }, opts: { parent: pulumi.Resource; provider: aws.Provider }): AdoptedTrail {
  const { trailRegion, partition, storeNamePrefix } = args;
  // GetResource args per node_modules/@pulumi/aws/cloudcontrol/getResource.d.ts (typeName, identifier,
  // region). The promise form, so that a "not found" becomes the refusal above rather than the
  // provider's bare ResourceNotFoundException.
  const described = aws.cloudcontrol.getResource({ typeName: TRAIL_TYPE, identifier: SHARED_TRAIL_NAME, region: trailRegion }, opts).then(
    (r) => {
      const trail = describeTrail(r.properties);
      const problems = trailProblems(trail, partition, storeNamePrefix);
      if (problems.length) throw trailRefusal(trailRegion, `will not deliver this sandbox's canary events: ${problems.join("; ")}`);
      if (!trail.arn) throw trailRefusal(trailRegion, "was described without its ARN");
      return { arn: trail.arn, trailRegion, trail };
    },
    (e) => {
      throw e instanceof SharedTrailMissing ? e : trailRefusal(trailRegion, `was not found (${String(e?.message ?? e).split("\n")[0]})`);
    },
  );
  return new AdoptedTrail(`${name}-shared-trail`, pulumi.output(described), { parent: opts.parent });
}

/** The trail's home region: stack config, else the sandbox's region. */
export function trailRegionOf(sandboxRegion: string): string {
  return new pulumi.Config("airlock").get("trailRegion") ?? sandboxRegion;
}
