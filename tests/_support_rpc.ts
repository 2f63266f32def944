/**
 * Exposed test classes and helpers for the daemon and proxy tests (tests/server_test.ts,
 * tests/client_test.ts, tests/interop/*, tests/robustness_test.ts).
 *
 * @module
 */
import { NamingError, RemoteError } from "../errors.ts";
import { behavior, currentContext, expose, oneway } from "../server.ts";
import { MessageConnection } from "../protocol/connection.ts";
import { type Message, MessageType } from "../protocol/message.ts";
import { createSerializer, type Serializer, type SerializerName } from "../serializers/mod.ts";
import { PyFloat } from "../serializers/values.ts";
import { peerEnv } from "./_peer.ts";

/** The four serializers, by name. */
export const SERIALIZERS = ["serpent", "marshal", "json", "msgpack"] as const;

/** Resolves after some milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until a condition holds, polling; fails after the limit.
 *
 * @param condition what to wait for
 * @param limitMs the most to wait
 */
export async function waitFor(condition: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
    await sleep(5);
  }
}

/** A class exposed as a whole, with every kind of member the tests need. */
@expose
export class TestService {
  #value = 42;
  #readonly = "fixed";
  /** What oneway calls recorded. */
  onewayCalls: unknown[] = [];
  /** How many streams ran their `finally` block. */
  streamsFinished = 0;
  /** Increments when slow() starts and ends. */
  slowStarted = 0;

  echo(value: unknown): unknown {
    return value;
  }

  add(a: number, b: number): number {
    return a + b;
  }

  async asyncAdd(a: number, b: number): Promise<number> {
    await sleep(1);
    return a + b;
  }

  echoArgs(...args: unknown[]): unknown[] {
    return args;
  }

  /** Binds keyword arguments by the names in its source. */
  setTarget(celsius: number, unit = "C"): string {
    return `target set to ${celsius} ${unit}`;
  }

  /** Python's `def echoKeywords(first, **options)`. */
  @expose({ kwargs: true })
  echoKeywords(first: unknown, options: Record<string, unknown>): unknown[] {
    return [first, options];
  }

  half(x: number): PyFloat {
    return new PyFloat(x / 2);
  }

  fail(message: string): never {
    throw new RangeError(message);
  }

  failTyped(): never {
    throw new TypeError("wrong type");
  }

  failPyro(): never {
    throw new NamingError("no such name");
  }

  failCustom(): never {
    throw new RemoteError("mymodule.InsufficientFunds", ["too poor", 3]);
  }

  async failAsync(message: string): Promise<never> {
    await sleep(1);
    throw new RangeError(message);
  }

  async slow(seconds: number): Promise<string> {
    this.slowStarted++;
    await sleep(seconds * 1000);
    return "Finally, an answer!";
  }

  *generator(n: number): Generator<number> {
    try {
      for (let i = 0; i < n; i++) yield i;
    } finally {
      this.streamsFinished++;
    }
  }

  async *asyncGenerator(n: number): AsyncGenerator<string> {
    try {
      for (let i = 0; i < n; i++) {
        await sleep(1);
        yield `item${i}`;
      }
    } finally {
      this.streamsFinished++;
    }
  }

  *endless(): Generator<number> {
    try {
      for (let i = 0;; i++) yield i;
    } finally {
      this.streamsFinished++;
    }
  }

  *failingGenerator(): Generator<number> {
    yield 1;
    throw new RangeError("generator broke");
  }

  listValues(): IterableIterator<string> {
    return ["a", "b", "c"].values();
  }

  @oneway
  onewayRecord(value: unknown): string {
    this.onewayCalls.push(value);
    return "ignored";
  }

  @oneway
  async onewaySlow(seconds: number): Promise<void> {
    await sleep(seconds * 1000);
    this.onewayCalls.push("slow done");
  }

  context(): Record<string, unknown> {
    const context = currentContext()!;
    const annotations: Record<string, string> = {};
    for (const [key, value] of context.annotations) {
      annotations[key] = new TextDecoder().decode(value);
    }
    context.responseAnnotations.set("XRES", new TextEncoder().encode("response"));
    return { seq: context.seq, serializerId: context.serializerId, annotations };
  }

  __dunder__(): string {
    return "should be allowed (dunder)";
  }

  _private(): string {
    return "should not be allowed";
  }

  get value(): number {
    return this.#value;
  }

  set value(value: number) {
    this.#value = value;
  }

  get readonly(): string {
    return this.#readonly;
  }

  accessor counter = 0;

  increment(): number {
    return ++this.counter;
  }
}

/** Exposes members one by one: the class itself is not exposed. */
export class PartlyExposed {
  @expose
  visible(): string {
    return "visible";
  }

  hidden(): string {
    return "hidden";
  }

  @expose
  get attribute(): string {
    return "attr";
  }
}

/** A class registered by class: one instance per connection. */
@expose
export class SessionCounter {
  #count = 0;

  next(): number {
    return ++this.#count;
  }
}

/** A class registered by class: a new instance per call. */
@behavior({ instanceMode: "percall" })
@expose
export class PerCallCounter {
  #count = 0;

  next(): number {
    return ++this.#count;
  }
}

/** A class registered by class: one instance per daemon. */
@behavior({ instanceMode: "single" })
@expose
export class SingleCounter {
  #count = 0;

  next(): number {
    return ++this.#count;
  }
}

/** Nothing exposed at all. */
export class NothingExposed {
  method(): void {}
}

/** A bare Pyro connection for wire-level tests: no proxy logic, just messages. */
export class RawClient implements AsyncDisposable {
  /** The message connection. */
  readonly connection: MessageConnection;
  /** The serializer the client speaks. */
  readonly serializer: Serializer;

  private constructor(connection: MessageConnection, serializer: Serializer) {
    this.connection = connection;
    this.serializer = serializer;
  }

  /**
   * Connects (no handshake yet).
   *
   * @param addr the daemon's address
   * @param serializer the serializer name
   */
  static async connect(addr: Deno.Addr, serializer: SerializerName = "json"): Promise<RawClient> {
    const conn = addr.transport === "unix"
      ? await Deno.connect({ transport: "unix", path: (addr as Deno.UnixAddr).path })
      : await Deno.connect({
        hostname: (addr as Deno.NetAddr).hostname,
        port: (addr as Deno.NetAddr).port,
      });
    return new RawClient(new MessageConnection(conn), createSerializer(serializer));
  }

  /** Sends a message with this client's serializer id. */
  send(type: number, data: Uint8Array, options: Partial<Message> = {}): Promise<void> {
    return this.connection.send({
      type,
      flags: 0,
      seq: 0,
      serializerId: this.serializer.id,
      data,
      annotations: new Map(),
      correlationId: null,
      ...options,
    });
  }

  /** Sends the connect handshake and returns the reply. */
  async handshake(objectId: string, handshake: unknown = "hello"): Promise<Message> {
    await this.send(MessageType.CONNECT, this.serializer.dumps({ handshake, object: objectId }));
    return await this.connection.receive(5000);
  }

  /** Sends a call and returns the reply message. */
  async call(
    objectId: string,
    method: string,
    args: unknown[],
    options: Partial<Message> = {},
  ): Promise<Message> {
    await this.send(MessageType.INVOKE, this.serializer.dumpsCall(objectId, method, args, {}), {
      seq: 1,
      ...options,
    });
    return await this.connection.receive(5000);
  }

  /** Closes the connection. */
  close(): void {
    this.connection.close();
  }

  /** Closes the connection (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** The outcome of a finished Python process. */
export interface PythonRun {
  /** Exit code. */
  code: number;
  /** Everything it printed on stdout. */
  stdout: string;
  /** Everything it printed on stderr. */
  stderr: string;
}

/**
 * Runs a Python script with the peer's Pyro5 on its path, killing it after a time limit.
 *
 * @param args the interpreter's arguments
 * @param limitMs the most the process may take
 * @param env extra environment variables
 */
export async function runPython(
  args: string[],
  limitMs = 120_000,
  env: Record<string, string> = {},
): Promise<PythonRun> {
  const process = new Deno.Command("python3", {
    args,
    env: { ...await peerEnv(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      process.kill("SIGKILL");
    } catch {
      // already ended
    }
  }, limitMs);
  try {
    const output = await process.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A path of a file next to the interop tests. */
export function interopScript(name: string): string {
  return decodeURIComponent(new URL(`./interop/${name}`, import.meta.url).pathname);
}

/** A running Python server process. */
export interface PythonServer extends AsyncDisposable {
  /** The process. */
  process: Deno.ChildProcess;
  /** The first line of its output that matched, as matched. */
  uri: string;
  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts a Python server and waits (bounded) for the line that carries its URI.
 *
 * @param args the interpreter's arguments (use `-u` for unbuffered output)
 * @param pattern finds the URI in a line (first group)
 * @param limitMs the most to wait for the URI
 */
export async function startPythonServer(
  args: string[],
  pattern: RegExp,
  limitMs = 20_000,
): Promise<PythonServer> {
  const process = new Deno.Command("python3", {
    args,
    env: await peerEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let ended = false;
  const status = process.status.then((s) => {
    ended = true;
    return s;
  });
  const stop = async () => {
    if (!ended) {
      try {
        process.kill("SIGTERM");
      } catch {
        // already ended
      }
      const timer = setTimeout(() => {
        try {
          process.kill("SIGKILL");
        } catch {
          // already ended
        }
      }, 3000);
      await status;
      clearTimeout(timer);
    }
    await drained;
  };
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let uri: string | null = null;
  const deadline = setTimeout(() => reader.cancel().catch(() => {}), limitMs);
  try {
    while (uri === null) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const match = pattern.exec(text);
      if (match) uri = match[1];
    }
  } finally {
    clearTimeout(deadline);
  }
  // Keep reading so the pipe never fills, until the process ends.
  const drained = (async () => {
    try {
      while (!(await reader.read()).done) {
        // discard
      }
    } catch {
      // cancelled
    }
  })();
  if (uri === null) {
    await stop();
    throw new Error(`python server printed no URI within ${limitMs} ms: ${text}`);
  }
  return { process, uri, stop, [Symbol.asyncDispose]: stop };
}
