// An interactive shell in a sandbox (`airlock sandbox exec --interactive`, Inspect's connection())
// without ever handing the sandbox a terminal of the host.
//
// Why not pass the caller's terminal in: a process holding a descriptor of a terminal can push input
// into it (TIOCSTI, on kernels that still allow it) and reconfigure it — and that terminal is the
// researcher's shell on the host of an air-gapped evaluation. So the terminal stays outside: the
// command runs exactly like any exec (same confinement, stdin/stdout/stderr are pipes, every inherited
// descriptor closed by the launcher), and a small relay *inside* the sandbox opens a pty from the
// sandbox's own devpts instance (its ptmx; max 16 ptys), runs the command on it as its controlling
// terminal, and copies bytes between the pipes and the pty's master. Whatever the shell does to its
// terminal it does to a pty of its own sandbox. The caller's terminal is put in raw mode by the CLI,
// so keys (Ctrl-C, Ctrl-D, arrows) travel as bytes and take effect inside, on that pty.
//
// The relay is Python from the sandbox's read-only /usr, run with -I -S (nothing the agent planted is
// imported), like the file helper. The initial window size is passed in; later resizes are not.

/** The sandbox's Python (its read-only /usr); the file helper uses the same (files.ts, not imported: the CLI's exec path stays light). */
const RELAY_PYTHON = "/usr/bin/python3";

const PTY_RELAY = String.raw`
import errno, fcntl, os, select, signal, struct, sys, termios
rows, cols, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
master, slave = os.openpty()
if rows > 0 and cols > 0:
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        os.write(2, ("airlock: cannot run %s: %s\r\n" % (cmd[0], e.strerror)).encode())
        os._exit(126 if e.errno == errno.EACCES else 127)
os.close(slave)
def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
inputs = [0, master]
status = None
while master in inputs:
    ready = select.select(inputs, [], [], 0.2)[0]
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            write_all(1, data)
        else:
            inputs.remove(master)
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            write_all(master, data)
        else:
            # The caller went away: hang the session up, as a closing terminal would.
            inputs.remove(0)
            try:
                os.killpg(pid, signal.SIGHUP)
            except OSError:
                pass
    if not ready and status is None:
        # The command ended but something it started still holds the pty open: its output is
        # drained (nothing was ready for 0.2 s), so the session is over.
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
if status is None:
    status = os.waitpid(pid, 0)[1]
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

export interface WindowSize {
  rows: number;
  cols: number;
}

/** The argv that runs `command` on a pty of the sandbox's own devpts, relayed over plain pipes. */
export function interactiveCommand(command: string[], size?: WindowSize): string[] {
  if (command.length === 0) throw new Error("interactiveCommand: empty command");
  const dim = (n: number | undefined) => String(Number.isInteger(n) && n! > 0 && n! < 10_000 ? n : 0);
  return [RELAY_PYTHON, "-I", "-S", "-c", PTY_RELAY, dim(size?.rows), dim(size?.cols), ...command];
}

/** The caller's terminal in raw mode (keys go through as bytes) until the returned function restores it. */
export function rawTerminal(stdin: NodeJS.ReadStream): () => void {
  if (!stdin.isTTY) return () => undefined;
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode(false);
    } catch {
      /* the terminal is gone */
    }
  };
  process.once("exit", restore);
  return restore;
}
