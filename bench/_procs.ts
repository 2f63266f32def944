/**
 * Child processes of the benchmark: started (optionally pinned with `taskset -c CPU`), read line
 * by line (JSON), every wait bounded, and stopped by their own PID: stdin closed first (the
 * bench servers and the idle client exit then), SIGKILL after a grace period.
 *
 * @module
 */

/** How to start one child process. */
export interface ChildSpec {
  /** The program. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** CPU to pin it to with taskset, or null. */
  cpu: number | null;
  /** A short name for messages. */
  name: string;
}

/** Ways a wait for a child's output can end early. */
export class ChildError extends Error {}

/** A running child process with line-wise access to its stdout. */
export class Child implements AsyncDisposable {
  readonly name: string;
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  #process: Deno.ChildProcess;
  #lines: AsyncIterator<string>;
  #stderr: string[] = [];
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stopped = false;

  /**
   * Starts the process.
   *
   * @param spec what to run
   */
  constructor(spec: ChildSpec) {
    const pinned = spec.cpu !== null;
    this.name = spec.name;
    this.#process = new Deno.Command(pinned ? "taskset" : spec.command, {
      args: pinned ? ["-c", String(spec.cpu), spec.command, ...spec.args] : spec.args,
      env: spec.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // taskset execs the program: the PID is the program's own.
    this.pid = this.#process.pid;
    this.status = this.#process.status;
    this.#stdin = this.#process.stdin.getWriter();
    this.#lines = lines(this.#process.stdout)[Symbol.asyncIterator]();
    this.#collectStderr();
  }

  async #collectStderr(): Promise<void> {
    try {
      for await (const line of lines(this.#process.stderr)) {
        this.#stderr.push(line);
        if (this.#stderr.length > 20) this.#stderr.shift();
      }
    } catch {
      // the process is gone
    }
  }

  /** The last lines the process wrote to stderr. */
  get stderrTail(): string {
    return this.#stderr.join("\n");
  }

  /**
   * The next stdout line parsed as JSON, or null at the end of the output.
   *
   * @param timeoutMs how long to wait
   * @returns the parsed line, or null
   * @throws {ChildError} on timeout or a line that is not JSON
   */
  async nextJson(timeoutMs: number): Promise<Record<string, unknown> | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ChildError(`${this.name}: no output within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      for (;;) {
        const next = await Promise.race([this.#lines.next(), timeout]);
        if (next.done) return null;
        const line = next.value.trim();
        if (line === "") continue;
        try {
          return JSON.parse(line);
        } catch {
          throw new ChildError(`${this.name}: not a JSON line: ${line.slice(0, 200)}`);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the process: closes its stdin, waits up to `graceMs`, then kills it (SIGKILL, by its
   * PID). Idempotent.
   *
   * @param graceMs how long the process may take to exit by itself
   */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      try {
        await this.#stdin.close();
      } catch {
        // already closed or the process is gone
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.status.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), graceMs)),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // exited meanwhile
      }
      await this.status;
    }
    try {
      await this.#process.stdout.cancel();
    } catch {
      // already consumed
    }
  }

  /** Stops the process (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
  if (pending !== "") yield pending;
}

/**
 * Resident memory of a process from `/proc/PID/status`: current (VmRSS) and peak (VmHWM), in
 * bytes; null where unavailable (not Linux).
 *
 * @param pid the process id
 * @returns the figures, or null
 */
export async function processMemory(
  pid: number,
): Promise<{ rss: number; peak: number } | null> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
    const rss = kb("VmRSS");
    const peak = kb("VmHWM");
    return Number.isFinite(rss) ? { rss: rss * 1024, peak: peak * 1024 } : null;
  } catch {
    return null;
  }
}

/**
 * Whether `taskset` can run here (pinning needs it).
 *
 * @returns true when `taskset -c 0 true` succeeds
 */
export async function hasTaskset(): Promise<boolean> {
  try {
    const out = await new Deno.Command("taskset", {
      args: ["-c", "0", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}
