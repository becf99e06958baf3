// components/spec/net.ts: the address-space judgement every invariant and validation rule relies on.
// Expected values are written from the RFCs (1918 private IPv4, 4193 unique local IPv6, 4291
// link-local), not from the code's table.
import * as assert from "assert";
import { cidrReachesInternet, isPrivateIpv4, parseCidr } from "../components/spec/net";

describe("cidrReachesInternet", () => {
  const cases: [string, boolean, string][] = [
    ["0.0.0.0/0", true, "the whole IPv4 internet"],
    ["10.0.0.0/1", true, "/1: half the internet, although it starts at a private address"],
    ["128.0.0.0/1", true, "the other half"],
    ["10.0.0.0/7", true, "/7 spans 10/8 and the public 11/8"],
    ["10.0.0.0/8", false, "exactly RFC 1918's 10/8"],
    ["10.1.2.0/24", false, "inside 10/8"],
    ["172.16.0.0/12", false, "exactly 172.16/12"],
    ["172.16.0.0/11", true, "/11 spills into public 172.0/12"],
    ["172.32.0.0/16", true, "just after 172.16/12"],
    ["192.168.0.0/16", false, "exactly 192.168/16"],
    ["192.168.0.0/15", true, "/15 includes public 192.169/16"],
    ["8.8.8.8/32", true, "one public host"],
    ["10.9.8.7/32", false, "one private host"],
    ["8.8.8.8", true, "a bare public address means /32"],
    ["192.168.1.1", false, "a bare private address"],
    [" 10.0.0.0/8 ", false, "surrounding spaces are ignored"],
    ["::/0", true, "the whole IPv6 internet"],
    ["2001:db8::/32", true, "global unicast space"],
    ["fd00::/8", false, "unique local"],
    ["fc00::/7", false, "exactly the unique-local block"],
    ["fd12:3456:789a::/48", false, "a ULA /48"],
    ["FD12::/16", false, "upper case hex"],
    ["fc00::/6", true, "/6 reaches beyond fc00::/7"],
    ["fd00::/1", true, "/1: half the IPv6 space, although it starts in ULA"],
    ["fe80::/10", false, "link-local"],
    ["fe80::/9", true, "/9 reaches beyond link-local"],
    ["fd::/16", true, "'fd::' is 00fd::, public, not ULA"],
    ["fd00::1", false, "a bare ULA address means /128"],
    ["::ffff:10.0.0.0/104", false, "IPv4-mapped 10/8"],
    ["::ffff:8.8.8.8/128", true, "IPv4-mapped public host"],
    ["::ffff:10.0.0.0/95", true, "a mapped range wider than the mapped block"],
    ["not-a-cidr", true, "unparseable: assume the worst"],
    ["10.0.0.0/33", true, "impossible prefix"],
    ["10.0.0.0/8/8", true, "malformed"],
    ["fd00::/129", true, "impossible IPv6 prefix"],
  ];
  for (const [cidr, expected, why] of cases) {
    it(`${JSON.stringify(cidr)} ${expected ? "reaches" : "does not reach"} the internet (${why})`, () => assert.strictEqual(cidrReachesInternet(cidr), expected));
  }
});

describe("isPrivateIpv4 and parseCidr", () => {
  it("knows the three RFC 1918 blocks and their edges", () => {
    for (const ip of ["10.0.0.0", "10.255.255.255", "172.16.0.0", "172.31.255.255", "192.168.0.0", "192.168.255.255"]) assert.ok(isPrivateIpv4(ip), ip);
    for (const ip of ["9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0", "8.8.8.8", "999.1.1.1"]) assert.ok(!isPrivateIpv4(ip), ip);
  });
  it("parses a CIDR and refuses what is not one", () => {
    assert.deepStrictEqual(parseCidr("10.0.0.0/16"), { address: "10.0.0.0", prefix: 16 });
    for (const bad of ["10.0.0.0", "10.0.0/16", "10.0.0.0/33", "256.0.0.0/8", "a.b.c.d/8"]) assert.strictEqual(parseCidr(bad), undefined, bad);
  });
});
