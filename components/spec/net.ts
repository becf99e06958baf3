// Small IPv4 helpers used by validation and by the invariant checks (is this range private? does it
// cover the whole internet?). Kept dependency-free on purpose: a handful of lines, fully tested.

export interface Cidr {
  address: string;
  prefix: number;
}

export function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || ipv4ToInt(m[1]) === undefined || Number(m[2]) > 32) return undefined;
  return { address: m[1], prefix: Number(m[2]) };
}

const PRIVATE_RANGES: [string, number][] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
];

export function inRange(ip: string, base: string, prefix: number): boolean {
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base);
  if (a === undefined || b === undefined) return false;
  if (prefix === 0) return true;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

export function isPrivateIpv4(ip: string): boolean {
  return PRIVATE_RANGES.some(([base, prefix]) => inRange(ip, base, prefix));
}

/** True when a CIDR (v4 or v6) reaches beyond private space: 0.0.0.0/0, ::/0, or any public range. */
export function cidrReachesInternet(text: string): boolean {
  const t = text.trim();
  if (t.includes(":")) {
    // IPv6: only ULA (fc00::/7) and link-local are private.
    return !/^f[cd][0-9a-f]{2}:/i.test(t) && !/^fe80:/i.test(t);
  }
  const c = parseCidr(t.includes("/") ? t : `${t}/32`);
  if (!c) return true; // unparseable: assume the worst
  return !PRIVATE_RANGES.some(([base, prefix]) => c.prefix >= prefix && inRange(c.address, base, prefix));
}
