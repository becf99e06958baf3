// One clock for everything the runner times (schedule ticks, fault application, samples, probes):
// wall-clock epoch ms with sub-millisecond resolution, so that "tick -> effect" and sample times
// are comparable without mixing Date.now() (1 ms steps) and performance.now().
export const clock = (): number => performance.timeOrigin + performance.now();
