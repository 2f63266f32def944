/**
 * Processes for the message bus tests: Python peers (tests/interop/bus_peer.py) and our
 * `cli/messagebus.ts`, with their output read line by line.
 *
 * Permissions: `--allow-run=python3,deno,bash --allow-read --allow-env`.
 */
import { peerEnv, repoPath } from "../_peer.ts";

/** A running process whose stdout lines are collected. */
export class LineProcess implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  #ended = false;
  #status: Promise<Deno.CommandStatus>;
  #drained: Promise<unknown>;

  constructor(command: string, args: string[], env: Record<string, string>) {
    this.process = new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#status = this.process.status.then((s) => {
      this.#ended = true;
      return s;
    });
    const read = async () => {
      let partial = "";
      for await (const chunk of this.process.stdout.pipeThrough(new TextDecoderStream())) {
        partial += chunk;
        const parts = partial.split("\n");
        partial = parts.pop()!;
        this.lines.push(...parts);
      }
      if (partial) this.lines.push(partial);
    };
    const readErr = async () => {
      for await (const chunk of this.process.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
      }
    };
    this.#drained = Promise.all([read(), readErr()]);
  }

  /** Whether it has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Waits (bounded) for a line matching the pattern; returns its match. */
  async waitForLine(pattern: RegExp, limitMs = 30_000): Promise<RegExpExecArray> {
    const end = Date.now() + limitMs;
    while (Date.now() < end) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      if (this.#ended) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(
      `no line matching ${pattern} (ended: ${this.#ended}):\n${
        this.lines.slice(-5).join("\n")
      }\n${this.stderr}`,
    );
  }

  /** The JSON lines it printed (messages). */
  messages(): { topic: string; msgid: string; created: string; data: unknown }[] {
    return this.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  }

  /** Sends a signal if it still runs. */
  signal(signal: Deno.Signal): void {
    if (this.#ended) return;
    try {
      this.process.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Waits (bounded) for it to end by itself; returns its exit code. */
  async done(limitMs = 30_000): Promise<number> {
    const timer = setTimeout(() => this.signal("SIGKILL"), limitMs);
    try {
      const status = await this.#status;
      await this.#drained;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops it: SIGCONT (in case it was stopped), SIGTERM, then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    await this.done(3000);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The Python peer script. */
export const BUS_PEER = repoPath("tests/interop/bus_peer.py");

/**
 * Starts a Python peer (`bus_peer.py`) with the name server's location.
 *
 * @param args the peer's arguments
 * @param nsPort the name server's port on 127.0.0.1
 */
export async function startPeer(args: string[], nsPort: number): Promise<LineProcess> {
  return new LineProcess("python3", ["-u", BUS_PEER, ...args], {
    ...await peerEnv(),
    PYRO_NS_HOST: "127.0.0.1",
    PYRO_NS_PORT: String(nsPort),
  });
}

/**
 * Starts `cli/messagebus.ts` and waits for its URI line.
 *
 * @param args its arguments
 * @param nsPort the name server's port on 127.0.0.1
 * @returns the process and the bus's URI
 */
export async function startBusCommand(
  args: string[],
  nsPort: number,
): Promise<{ bus: LineProcess; uri: string }> {
  const bus = new LineProcess(
    Deno.execPath(),
    ["run", "--quiet", "--allow-all", repoPath("cli/messagebus.ts"), ...args],
    { PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: String(nsPort), NO_COLOR: "1" },
  );
  try {
    const match = await bus.waitForLine(/^ {4}uri {2}= (\S+)$/, 60_000);
    return { bus, uri: match[1] };
  } catch (error) {
    await bus.stop();
    throw error;
  }
}
