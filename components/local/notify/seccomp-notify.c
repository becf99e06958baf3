// airlock-seccomp-notify: puts one confined process start under a seccomp filter whose refusals
// are *reported*, then becomes that process.
//
//   airlock-seccomp-notify <report-fd> <filter-hex> <command> [args...]
//
// <filter-hex> is a classic-BPF program (components/local/seccomp.ts, socketNotifyFilter: the socket
// families a workload may not create) that returns SECCOMP_RET_USER_NOTIF for what it refuses. The
// launcher (pid P, the process Airlock spawned):
//   1. forks the responder R *before* the filter exists, so R itself is never filtered, and links
//      the two with a unix socketpair;
//   2. installs the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER, sends the listener descriptor to R
//      (SCM_RIGHTS), waits for R's one-byte acknowledgement, and CLOSES the listener and the socket:
//      the listener never reaches the command (a process holding it could answer its own refused
//      calls with "continue");
//   3. closes <report-fd> (only R writes reports) and execs <command>.
// Any failure before the exec: a message on stderr and exit status 125, the command never runs.
//
// With `--launch` it also does, in this order and before that exec, what the bash launcher of
// confine.ts would do next (and what nsenter does after it), so that a confined start costs two
// execs fewer (bash and nsenter; bench/inspect-exec-profile.ts):
//   airlock-seccomp-notify <report-fd> <filter-hex> --launch <keep-fds> <nofile-soft> <nofile-hard>
//                          <netns-path> [<cgroup.procs file>...] -- <command> [args...]
//   a. closes every descriptor above 2 except the comma-separated <keep-fds> (Node hands on whatever
//      descriptors it inherited without close-on-exec; none may reach a workload);
//   b. sets the limits every confined process inherits and cannot raise: no core dumps (0/0), and
//      <nofile-soft>/<nofile-hard> descriptors;
//   c. writes its pid to every listed cgroup.procs file (joins the cgroups before anything can fork;
//      R was forked before, so it stays outside them);
//   d. joins the network namespace at <netns-path> (setns, as `nsenter --net=<path>` does).
//
// R, outside every namespace of the sandbox and its cgroup (it is forked before the command joins
// them), dies with P (PR_SET_PDEATHSIG; P is what becomes bubblewrap's monitor, so R lives exactly as
// long as the confined process tree) and answers every notification with an error — EPROTONOSUPPORT
// for another netlink protocol, EAFNOSUPPORT for everything else, never SECCOMP_USER_NOTIF_FLAG_CONTINUE.
// Then it writes one line per refusal to <report-fd>:
//   <syscall nr> <family> <type> <protocol> <host pid> <comm as hex>
// If R is gone (killed, crashed), the kernel fails the refused call with ENOSYS: still refused.
//
// R is paced (a token bucket: REFUSAL_BURST at once, then REFUSAL_RATE per second): R and the process
// reading its reports run outside the sandbox's cgroup, so without a bound a workload looping on
// refused calls spends host CPU its quota does not cover — measured at ~21 µs of host CPU per refusal
// against ~4 µs of the workload's own, about a third of a CPU per loop at ~17,000 refusals a second (npm run bench --
// socket-refusal-loop). Beyond the burst, R waits before it answers: the caller stays blocked in its
// refused call, so the wait is spent by the workload, not the host. The burst is far above the
// default denied-egress threshold (20), so a kill is not delayed by it; only thresholds above the
// burst are reached at the paced rate.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "airlock-seccomp-notify is built for x86_64 and aarch64 only (the architectures components/local/seccomp.ts has tables for)"
#endif

#define MAX_INSNS 4096
/** Refusals answered at once, then REFUSAL_RATE per second (see the header; mirrored in docs/local.md). */
#define REFUSAL_BURST 1000.0
#define REFUSAL_RATE 200.0

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/** Takes one token from the bucket, sleeping until one has accrued if it is empty. */
static void pace(double *tokens, double *last) {
  double now = now_seconds();
  *tokens += (now - *last) * REFUSAL_RATE;
  if (*tokens > REFUSAL_BURST) *tokens = REFUSAL_BURST;
  *last = now;
  if (*tokens < 1.0) {
    double wait = (1.0 - *tokens) / REFUSAL_RATE;
    struct timespec d = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
    now = now_seconds();
    *tokens += (now - *last) * REFUSAL_RATE;
    *last = now;
  }
  *tokens -= 1.0;
}

static void fail(const char *what) {
  fprintf(stderr, "airlock-seccomp-notify: %s: %s\n", what, strerror(errno));
  _exit(125);
}

static void failx(const char *what) {
  fprintf(stderr, "airlock-seccomp-notify: %s\n", what);
  _exit(125);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/** Closes every descriptor from 3 up except `a` and `b`. */
static void close_all_but(int a, int b) {
  int lo = a < b ? a : b, hi = a < b ? b : a;
  if (lo > 3) syscall(SYS_close_range, 3, lo - 1, 0);
  if (hi > lo + 1) syscall(SYS_close_range, lo + 1, hi - 1, 0);
  syscall(SYS_close_range, hi + 1, ~0U, 0);
}

static int recv_fd(int sock) {
  char byte;
  char ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static int send_fd(int sock, int fd) {
  char byte = 'L';
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/** The command name of a process that is blocked in a notified call (hex, so any byte is safe in a report line). */
static void comm_hex(pid_t pid, char *out, size_t outlen) {
  char path[64], comm[32];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  out[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, comm, sizeof comm - 1);
  close(fd);
  if (n <= 0) return;
  if (comm[n - 1] == '\n') n--;
  size_t o = 0;
  for (ssize_t i = 0; i < n && o + 3 <= outlen; i++) o += (size_t)snprintf(out + o, outlen - o, "%02x", (unsigned char)comm[i]);
}

static void respond(int sock, int report, pid_t parent) {
  prctl(PR_SET_NAME, "airlock-notify");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(0);
  signal(SIGPIPE, SIG_IGN);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) close(devnull);
  }
  close_all_but(sock, report);
  int listener = recv_fd(sock);
  if (listener < 0) _exit(1);
  char ack = 'A';
  if (write(sock, &ack, 1) != 1) _exit(1);
  close(sock);

  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  char line[256], comm[40];
  double tokens = REFUSAL_BURST, last = now_seconds();
  for (;;) {
    struct pollfd p = {listener, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (!(p.revents & POLLIN)) {
      if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) _exit(0); // every filtered process is gone
      continue;
    }
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue; // (ENOENT: the caller died meanwhile)
      _exit(1);
    }
    pace(&tokens, &last); // (the caller waits in its refused call meanwhile)
    int family = (int)(uint32_t)req.data.args[0];
    comm_hex(req.pid, comm, sizeof comm);
    // (The comm was read while the caller was blocked in the call: still the caller if the id is valid.)
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) comm[0] = 0;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.val = 0;
    resp.error = family == 16 /* AF_NETLINK: the filter let NETLINK_ROUTE through */ ? -EPROTONOSUPPORT : -EAFNOSUPPORT;
    resp.flags = 0; // never SECCOMP_USER_NOTIF_FLAG_CONTINUE
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT) continue;
    if (report >= 0) {
      int len = snprintf(line, sizeof line, "%d %d %d %d %d %s\n", req.data.nr, family, (int)(uint32_t)req.data.args[1], (int)(uint32_t)req.data.args[2], (int)req.pid, comm[0] ? comm : "-");
      if (len > 0 && write(report, line, (size_t)len) != len) {
        close(report); // the reader is gone: refusals go on, unreported
        report = -1;
      }
    }
  }
}

static int keeps(const int *keep, int nkeep, int fd) {
  for (int i = 0; i < nkeep; i++)
    if (keep[i] == fd) return 1;
  return 0;
}

static long number(const char *s, long lo, long hi, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi) {
    fprintf(stderr, "airlock-seccomp-notify: --launch: %s '%s' is not a number in [%ld, %ld]\n", what, s, lo, hi);
    _exit(125);
  }
  return v;
}

/** --launch steps a-d (see the top of this file); returns the index of the command in argv. */
static int launch(int argc, char **argv, int i) {
  if (argc - i < 6) failx("usage: ... --launch <keep-fds> <nofile-soft> <nofile-hard> <netns-path> [<cgroup.procs>...] -- <command> [args...]");
  int keep[16], nkeep = 0;
  char *list = strdup(argv[i++]); // (strtok writes into it: argv, and with it /proc/<pid>/cmdline, stays as given)
  if (!list) fail("strdup");
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    if (nkeep == 16) failx("--launch: more than 16 descriptors to keep");
    keep[nkeep++] = (int)number(tok, 3, 1000, "descriptor");
  }
  struct rlimit nofile = {(rlim_t)number(argv[i], 1, 1 << 20, "nofile soft limit"), (rlim_t)number(argv[i + 1], 1, 1 << 20, "nofile hard limit")};
  i += 2;
  const char *netns = argv[i++];
  int first = i;
  while (i < argc && strcmp(argv[i], "--") != 0) i++;
  if (i >= argc - 1) failx("--launch: no '--' and command after the cgroup.procs files");
  int last = i++;
  // a. Descriptors: every one above 2 except those listed (a closed range per gap between them).
  int lo = 3;
  for (int fd = 3; fd <= 1000; fd++) {
    if (!keeps(keep, nkeep, fd)) continue;
    if (fd > lo) syscall(SYS_close_range, lo, fd - 1, 0);
    lo = fd + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
  // b. Limits (as `ulimit -c 0 && ulimit -n <hard> && ulimit -S -n <soft>`).
  struct rlimit core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &core) != 0) fail("--launch: setrlimit(RLIMIT_CORE)");
  if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) fail("--launch: setrlimit(RLIMIT_NOFILE)");
  // c. The cgroups (one write of "<pid>\n" each, as `echo $$ > file`).
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (int k = first; k < last; k++) {
    int fd = open(argv[k], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, (size_t)len) != len) {
      fprintf(stderr, "airlock-seccomp-notify: --launch: cannot join the cgroup (%s): %s\n", argv[k], strerror(errno));
      _exit(125);
    }
    close(fd);
  }
  // d. The network namespace.
  int ns = open(netns, O_RDONLY | O_CLOEXEC);
  if (ns < 0) fail("--launch: cannot open the network namespace");
  if (setns(ns, CLONE_NEWNET) != 0) fail("--launch: cannot join the network namespace");
  close(ns);
  return i;
}

int main(int argc, char **argv) {
  if (argc < 4) failx("usage: airlock-seccomp-notify <report-fd> <filter-hex> [--launch ...] <command> [args...]");
  char *end;
  long report = strtol(argv[1], &end, 10);
  if (*end || report < 3 || report > 1000 || fcntl((int)report, F_GETFD) < 0) failx("the report descriptor is not open");
  size_t hexlen = strlen(argv[2]);
  if (hexlen == 0 || hexlen % 16 != 0 || hexlen / 16 > MAX_INSNS) failx("the filter is not a whole number of BPF instructions");
  size_t n = hexlen / 16;
  struct sock_filter *insns = calloc(n, sizeof *insns);
  if (!insns) fail("calloc");
  unsigned char *bytes = (unsigned char *)insns;
  for (size_t i = 0; i < n * 8; i++) {
    int hi = hexval(argv[2][2 * i]), lo = hexval(argv[2][2 * i + 1]);
    if (hi < 0 || lo < 0) failx("the filter is not hex");
    bytes[i] = (unsigned char)(hi << 4 | lo); // (little-endian layout, as seccomp.ts writes it for both architectures)
  }
  struct sock_fprog prog = {(unsigned short)n, insns};

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail("socketpair");
  pid_t parent = getpid();
  pid_t r = fork();
  if (r < 0) fail("fork");
  if (r == 0) {
    close(sv[0]);
    respond(sv[1], (int)report, parent);
    _exit(0);
  }
  close(sv[1]);
  close((int)report);

  int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (listener < 0) fail("cannot install the socket-family filter");
  if (send_fd(sv[0], listener) != 0) fail("cannot hand the listener to the responder");
  char ack;
  if (read(sv[0], &ack, 1) != 1 || ack != 'A') failx("the responder did not take the listener");
  close(listener);
  close(sv[0]);
  free(insns);
  int cmd = strcmp(argv[3], "--launch") == 0 ? launch(argc, argv, 4) : 3;
  execv(argv[cmd], argv + cmd);
  fail("exec");
}
