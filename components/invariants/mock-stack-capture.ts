// Pulumi's SDK captures a full JavaScript stack for every resource (Resource.stackTrace: the source
// position it sends the engine) and for every internal promise (debuggablePromise: kept on the promise
// for PULUMI_DEBUG_PROMISE_LEAKS). Under the mock monitor nobody reads either: the mock ignores the
// source position, and a leak report names the leak without them. They were the largest cost of a
// mock graph after the protobuf round trip — formatting ~20 stacks per resource and keeping them alive
// until the promise settles (a 500-sandbox fleet: 10,500 resources, ~40% of the time in GC, mostly
// these strings) — so the mock graph builder turns them off for the duration of one build.
//
// Narrow on purpose: the program's own errors keep their stacks (only the two SDK functions run with
// Error.stackTraceLimit = 0), and PULUMI_DEBUG_PROMISE_LEAKS=1 keeps Pulumi's leak stacks.
import * as pulumi from "@pulumi/pulumi";

type Restore = () => void;

/** Stops the SDK's per-resource and per-promise stack capture until the returned function is called. */
export function suspendPulumiStackCapture(): Restore {
  const resource = pulumi.Resource as unknown as { stackTrace(skip: number): unknown[] };
  // The SDK calls these through the module objects (`debuggable_1.debuggablePromise(...)`,
  // `Resource.stackTrace(4)`), so replacing the properties reaches every caller.
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };
  const savedTrace = resource.stackTrace;
  const savedPromise = debuggable.debuggablePromise;
  resource.stackTrace = () => [];
  if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS)
    debuggable.debuggablePromise = (p, ctx) => {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return savedPromise(p, ctx);
      } finally {
        Error.stackTraceLimit = limit;
      }
    };
  return () => {
    resource.stackTrace = savedTrace;
    debuggable.debuggablePromise = savedPromise;
  };
}
