// Refused socket() / socketpair() calls as the launcher's responder reports them
// (notify/seccomp-notify.c): parsing its lines and naming families. (The guard learns of the ones that
// count through the sandbox's tally file, whichever process started the caller: refusal-tally.ts.)
//
// Which refusals count as denied egress (for the kill rule's threshold): every refused family that
// carries data to another endpoint — vsock (the host's port space), packet, CAN, Bluetooth, XDP,
// TIPC, RDS, ... — because in an air-gapped workload its only use is a way out that the network
// namespace does not cover; an attempt is exactly what the rule exists to catch, and no ordinary
// runtime probes those families. Not counted (recorded all the same): AF_NETLINK with a protocol other
// than NETLINK_ROUTE and AF_ALG. Both talk only to the local kernel, and ordinary software opens them
// unprompted (browsers' udev monitors, PAM's audit messages, crypto libraries probing the kernel's
// ciphers): counting them would kill sandboxes that did nothing wrong without catching a way out.
import { socketSyscallName } from "./seccomp";

export interface SocketRefusal {
  call: string;
  family: number;
  familyName: string;
  type: number;
  protocol: number;
  /** Host pid of the caller. */
  pid: number;
  comm: string;
  /** Counts towards the denied-egress kill rule (see the header). */
  egress: boolean;
}

const FAMILY_NAMES: Record<number, string> = {
  0: "AF_UNSPEC", 3: "AF_AX25", 4: "AF_IPX", 5: "AF_APPLETALK", 6: "AF_NETROM", 7: "AF_BRIDGE", 8: "AF_ATMPVC", 9: "AF_X25",
  11: "AF_ROSE", 12: "AF_DECnet", 13: "AF_NETBEUI", 14: "AF_SECURITY", 15: "AF_KEY", 16: "AF_NETLINK", 17: "AF_PACKET", 18: "AF_ASH",
  19: "AF_ECONET", 20: "AF_ATMSVC", 21: "AF_RDS", 22: "AF_SNA", 23: "AF_IRDA", 24: "AF_PPPOX", 25: "AF_WANPIPE", 26: "AF_LLC", 27: "AF_IB",
  28: "AF_MPLS", 29: "AF_CAN", 30: "AF_TIPC", 31: "AF_BLUETOOTH", 32: "AF_IUCV", 33: "AF_RXRPC", 34: "AF_ISDN", 35: "AF_PHONET",
  36: "AF_IEEE802154", 37: "AF_CAIF", 38: "AF_ALG", 39: "AF_NFC", 40: "AF_VSOCK", 41: "AF_KCM", 42: "AF_QIPCRTR", 43: "AF_SMC", 44: "AF_XDP",
  45: "AF_MCTP",
};
/** Families that reach only the local kernel (see the header). */
const LOCAL_KERNEL_FAMILIES = new Set([16, 38]);

export function familyName(family: number): string {
  return FAMILY_NAMES[family] ?? `family ${family}`;
}

/** One report line: `<nr> <family> <type> <protocol> <pid> <comm hex or ->`; undefined if malformed. */
export function parseRefusal(line: string): SocketRefusal | undefined {
  const m = /^(\d+) (-?\d+) (-?\d+) (-?\d+) (\d+) ([0-9a-f]*|-)$/.exec(line.trim());
  if (!m) return undefined;
  const family = Number(m[2]);
  return {
    call: socketSyscallName(Number(m[1])),
    family,
    familyName: familyName(family),
    type: Number(m[3]),
    protocol: Number(m[4]),
    pid: Number(m[5]),
    comm: m[6] === "-" ? "" : Buffer.from(m[6], "hex").toString("latin1"),
    egress: !LOCAL_KERNEL_FAMILIES.has(family),
  };
}
