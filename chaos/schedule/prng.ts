// A small seeded PRNG, so that "random" fault windows are reproducible: the same experiment seed
// gives the same schedule on every machine and every run (Math.random cannot be seeded).
//
// mulberry32 (32-bit state, good enough statistical quality for picking a few offsets), seeded from a
// FNV-1a hash of the seed and the action's name, so that actions draw independent sequences and
// adding an action does not shift another action's windows.

export type Rng = () => number;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A generator of floats in [0, 1) fully determined by (seed, stream). */
export function seededRng(seed: number, stream = ""): Rng {
  let a = fnv1a(`${seed}:${stream}`);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
