/**
 * Two network namespaces joined by a veth pair, made by the test that uses them and removed
 * when it is disposed (even after a failure): a private link with addresses from the benchmark
 * test range 198.18.0.0/15, inside the namespaces only. Faults come from `tc netem` (delay, loss,
 * reorder; a partition is 100% loss) where the kernel has it; a kernel without netem gets the
 * nearest it offers: a slow `tbf` link that queues and drops, and for a partition a `tbf` whose
 * bucket is smaller than any packet (every packet is dropped, silently). Nothing outside the two namespaces is touched. Needs root and iproute2.
 *
 * @module
 */

/** Runs a command; returns its output or throws with its stderr. */
async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`${command} ${args.join(" ")}: ${stderr || `exit ${output.code}`}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** Whether `command` is on PATH. */
async function have(command: string): Promise<boolean> {
  try {
    return (await new Deno.Command("sh", { args: ["-c", `command -v ${command}`] }).output())
      .success;
  } catch {
    return false;
  }
}

/**
 * Why network namespaces cannot be used here, or null when they can: not root, no iproute2
 * (installed with apt-get on first use when possible), or the kernel refuses (a container
 * without CAP_SYS_ADMIN / CAP_NET_ADMIN).
 */
export async function netnsUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "network namespaces need root (uid 0)";
  if (!(await have("ip")) || !(await have("tc"))) {
    try {
      await run("apt-get", ["install", "-y", "-q", "iproute2"]);
    } catch (error) {
      return `iproute2 (ip, tc) is missing and could not be installed: ${error}`;
    }
  }
  const probe = `pyrotest-probe-${Deno.pid}`;
  try {
    await run("ip", ["netns", "add", probe]);
  } catch (error) {
    return `this machine forbids network namespaces: ${error}`;
  }
  try {
    await run("ip", ["netns", "exec", probe, "ip", "link", "add", "pt0", "type", "veth"]);
  } catch (error) {
    return `veth pairs are not available: ${error}`;
  } finally {
    await run("ip", ["netns", "delete", probe]);
  }
  return null;
}

/** Two namespaces, `server` and `client`, linked by a veth pair; dispose to remove them. */
export class NetnsLink implements AsyncDisposable {
  /** Namespace names. */
  readonly server: string;
  readonly client: string;
  /** Addresses on the link (in the server's and the client's namespace). */
  readonly serverIp: string;
  readonly clientIp: string;
  /** Whether the kernel has `tc netem` (else faults come from tbf). */
  netem = false;
  readonly #serverDev: string;
  readonly #clientDev: string;
  #faults = false;

  private constructor(tag: string, subnet: number) {
    this.server = `pyrotest-${tag}-s`;
    this.client = `pyrotest-${tag}-c`;
    this.#serverDev = `pt${tag}s`;
    this.#clientDev = `pt${tag}c`;
    this.serverIp = `198.18.${subnet}.1`;
    this.clientIp = `198.18.${subnet}.2`;
  }

  /** Makes the namespaces and the link; removes what it made if a step fails. */
  static async create(): Promise<NetnsLink> {
    const tag = String(Deno.pid % 10_000_000);
    const link = new NetnsLink(tag, Deno.pid % 250);
    try {
      await run("ip", ["netns", "add", link.server]);
      await run("ip", ["netns", "add", link.client]);
      // Made inside the server namespace, so the host never holds either end.
      await link.#ip(link.server, [
        ["link", "add", link.#serverDev, "type", "veth", "peer", "name", link.#clientDev],
        ["link", "set", link.#clientDev, "netns", link.client],
        ["addr", "add", `${link.serverIp}/24`, "dev", link.#serverDev],
        ["link", "set", link.#serverDev, "up"],
        ["link", "set", "lo", "up"],
      ]);
      await link.#ip(link.client, [
        ["addr", "add", `${link.clientIp}/24`, "dev", link.#clientDev],
        ["link", "set", link.#clientDev, "up"],
        ["link", "set", "lo", "up"],
      ]);
      const probe = ["netns", "exec", link.client, "tc", "qdisc", "add", "dev", "lo", "root"];
      link.netem = await run("ip", [...probe, "netem"]).then(() => true, () => false);
    } catch (error) {
      await link.close();
      throw error;
    }
    return link;
  }

  async #ip(namespace: string, commands: string[][]): Promise<void> {
    for (const args of commands) await run("ip", ["netns", "exec", namespace, "ip", ...args]);
  }

  /**
   * Makes the link slow and lossy in both directions, and says how: with netem, delay, jitter,
   * loss and reordering; without, a 200 kbit/s token bucket with a short queue (delay from
   * queueing, loss when it overflows, no reordering).
   */
  async degrade(): Promise<string> {
    const spec = this.netem
      ? ["netem", "delay", "25ms", "10ms", "loss", "8%", "reorder", "25%", "50%"]
      : ["tbf", "rate", "200kbit", "burst", "3000", "limit", "4500"];
    await this.#qdisc(spec);
    return spec.join(" ");
  }

  /**
   * Cuts the link silently (no reset, no unreachable: packets vanish) in both directions:
   * netem 100% loss, or a token bucket too small for any packet. `heal()` ends it.
   */
  async partition(): Promise<void> {
    await this.#qdisc(
      this.netem
        ? ["netem", "loss", "100%"]
        : ["tbf", "rate", "8kbit", "burst", "10", "limit", "10"],
    );
  }

  /** Removes every fault set by {@linkcode degrade} and {@linkcode partition}. */
  async heal(): Promise<void> {
    if (!this.#faults) return;
    for (const [namespace, dev] of this.#ends()) {
      await run("ip", ["netns", "exec", namespace, "tc", "qdisc", "del", "dev", dev, "root"]);
    }
    this.#faults = false;
  }

  #ends(): [string, string][] {
    return [[this.server, this.#serverDev], [this.client, this.#clientDev]];
  }

  async #qdisc(spec: string[]): Promise<void> {
    for (const [namespace, dev] of this.#ends()) {
      const args = ["netns", "exec", namespace, "tc", "qdisc", "replace", "dev", dev, "root"];
      await run("ip", [...args, ...spec]);
    }
    this.#faults = true;
  }

  /** Takes the client's end of the link down or up (a partition by link state). */
  async clientLink(up: boolean): Promise<void> {
    await this.#ip(this.client, [["link", "set", this.#clientDev, up ? "up" : "down"]]);
  }

  /** A command that runs `args` (e.g. deno and its arguments) inside a namespace. */
  command(namespace: string, args: string[], options: Deno.CommandOptions = {}): Deno.Command {
    return new Deno.Command("ip", { ...options, args: ["netns", "exec", namespace, ...args] });
  }

  /** Removes both namespaces (and with them the veth pair); idempotent. */
  async close(): Promise<void> {
    for (const namespace of [this.client, this.server]) {
      const names = await run("ip", ["netns", "list"]);
      if (names.split("\n").some((line) => line.split(" ")[0] === namespace)) {
        await run("ip", ["netns", "delete", namespace]);
      }
    }
  }

  /** Same as {@linkcode NetnsLink.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
