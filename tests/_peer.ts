/**
 * The reference peer for interop tests: Python Pyro5 5.15, installed (once, cached) by
 * `scripts/install_peer.sh`.
 *
 * Permissions: `--allow-run=bash,python3`.
 *
 * @module
 */

/** Environment a Python peer process runs with. */
export type PeerEnv = Record<string, string>;

let peer: Promise<PeerEnv> | undefined;

/** A repository file's path, from a path relative to the repository root. */
export function repoPath(relPath: string): string {
  return decodeURIComponent(new URL(`../${relPath}`, import.meta.url).pathname);
}

async function installPeer(): Promise<PeerEnv> {
  const output = await new Deno.Command("bash", {
    args: [repoPath("scripts/install_peer.sh")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`scripts/install_peer.sh failed (${output.code}): ${stderr}`);
  }
  const site = stdout.split("\n").at(-1)?.trim();
  if (!site) throw new Error("scripts/install_peer.sh printed no PYTHONPATH");
  return Object.freeze({
    PYTHONPATH: site,
    // Reproducible set order, and msgpack's datetime extension in UTC.
    PYTHONHASHSEED: "0",
    TZ: "UTC",
    PYTHONDONTWRITEBYTECODE: "1",
  });
}

/**
 * The environment for Python processes that import Pyro5 (`PYTHONPATH` of the installed peer,
 * `PYTHONHASHSEED=0`, `TZ=UTC`). Installs the peer on the first call; later calls share the
 * result (a failed install is retried).
 *
 * @returns the variables to pass as `env` to `Deno.Command`
 */
export function peerEnv(): Promise<PeerEnv> {
  if (!peer) {
    peer = installPeer();
    peer.catch(() => (peer = undefined));
  }
  return peer;
}

/**
 * Starts `python3` with the peer environment, piped stdin/stdout and inherited stderr.
 *
 * @param args the interpreter's arguments (a script path and its arguments)
 * @returns the running process; the caller closes stdin and awaits `status`
 */
export async function startPython(args: string[]): Promise<Deno.ChildProcess> {
  return new Deno.Command("python3", {
    args,
    env: await peerEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}
