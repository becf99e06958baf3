// Quoting for the two languages user data is written in: POSIX shell and systemd unit files.
// Everything from the spec (commands, env, paths) passes through these, never raw string concatenation.
import { shortHash } from "../naming";

/** Single-quotes a string for POSIX sh. */
export function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** One argument for a systemd `ExecStart=` / `Environment=` line. */
export function systemdQuote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$").replace(/\n/g, "\\n")}"`;
}

/** A shell command that writes `content` to `path` verbatim (quoted heredoc: no expansion). */
export function writeFile(path: string, content: string, opts: { mode?: string; owner?: string } = {}): string {
  const delimiter = `EOF_${shortHash(content, 12)}`;
  const body = content.endsWith("\n") ? content : content + "\n";
  // mkdir -p leaves existing directories (and their modes, e.g. a private ~/.ssh) alone.
  const lines = [`mkdir -p "$(dirname ${sq(path)})"`, `cat > ${sq(path)} <<'${delimiter}'`, body + delimiter];
  if (opts.mode) lines.push(`chmod ${opts.mode} ${sq(path)}`);
  if (opts.owner) lines.push(`chown ${opts.owner}:${opts.owner} ${sq(path)}`);
  return lines.join("\n");
}
