// Per-cloud behaviour of the mock provider: what ids and computed outputs a resource gets, and what
// provider functions (invokes) return. Deterministic (hash of type + name), so a graph is the same on
// every run and references between resources resolve.

export interface MockContext {
  /** Cloud region/location the stack targets, e.g. us-east-2. */
  region: string;
  /** Fake account/project id. */
  account: string;
}

export interface CloudMocks {
  /** True for the type tokens this cloud's mocks answer (e.g. `aws:` and `pulumi:providers:aws`). */
  handles(type: string): boolean;
  /** Id and state (outputs) for a new resource. */
  newResource(type: string, name: string, inputs: Record<string, any>, ctx: MockContext): { id: string; state: Record<string, any> };
  /** Result of an invoke, or undefined when this cloud does not know the token. */
  call(token: string, inputs: Record<string, any>, ctx: MockContext): Record<string, any> | undefined;
}
