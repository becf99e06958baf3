// A named skip: a test that needs a capability this host lacks says which and why, on the console and
// in mocha's pending list — never a silent pass.
export function skipBecause(ctx: Mocha.Context, reason: string): void {
  const title = ctx.test?.fullTitle() ?? "test";
  process.stdout.write(`      SKIPPED: ${title}\n        reason: ${reason}\n`);
  ctx.skip();
}
