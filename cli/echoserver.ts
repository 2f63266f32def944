/**
 * `deno task echoserver`: Pyro's test echo server, with `python3 -m Pyro5.utils.echoserver`'s
 * flags, output and object: `test.echoserver` with echo, error, error_with_text, oneway_echo,
 * slow, generator, nan, inf, oneway_slow, shutdown, the `verbose` property, a refused `_private`
 * method and an allowed `__dunder__` one.
 *
 * ```
 * deno task echoserver [-H HOST] [-p PORT] [-u UNIXSOCKET] [-n] [-N] [-v] [-q]
 * ```
 *
 * Needs `--allow-net --allow-env --allow-sys`, and `--allow-read --allow-write` for a Unix socket.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { configFromEnv } from "../config.ts";
import { locateNS } from "../client.ts";
import { startNameServer } from "../nameserver.ts";
import { NamingError } from "../errors.ts";
import { Daemon, expose, oneway } from "../server.ts";
import {
  addressText,
  CommandError,
  type CommandIo,
  intOption,
  listening,
  nsLocation,
  runCommand,
  usageError,
} from "./_common.ts";

/** The name the echo server object is registered under. */
export const ECHO_OBJECT_NAME = "test.echoserver";

const USAGE = "usage: echoserver [-h] [-H HOST] [-p PORT] [-u UNIXSOCKET] [-n] [-N] [-v] [-q]";

const HELP = `${USAGE}

Pyro test echo/nameserver command line launcher.

options:
  -h, --help            show this help message and exit
  -H HOST, --host HOST  hostname to bind server on (default=localhost)
  -p PORT, --port PORT  port to bind server on
  -u UNIXSOCKET, --unixsocket UNIXSOCKET
                        Unix domain socket name to bind server on
  -n, --naming          register with nameserver
  -N, --nameserver      also start a nameserver
  -v, --verbose         verbose output
  -q, --quiet           don't output anything`;

const SLOW_SECONDS = 5;

// Every call is checked as Python checks it (Python's parameter names, its TypeError wording),
// so the echo server answers bad calls as Pyro5's does, e.g. through an HTTP gateway.
const STRICT_NONE = { params: [], strict: true } as const;
const STRICT_MESSAGE = { params: ["message"], strict: true } as const;

function timestamp(): string {
  return new Date().toString().slice(0, 24);
}

/**
 * The echo server object, as Pyro5's `EchoServer`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { EchoServer } from "./echoserver.ts";
 * const echo = new EchoServer();
 * assert(echo.echo("hi") === "hi");
 * ```
 */
@expose
export class EchoServer {
  #verbose = false;
  #out: (line: string) => void;
  #shutdown: () => void;

  /**
   * @param out where verbose lines go
   * @param onShutdown called when a client asks the server to shut down
   */
  constructor(out: (line: string) => void = console.log, onShutdown: () => void = () => {}) {
    this.#out = out;
    this.#shutdown = onShutdown;
  }

  #log(text: string): void {
    if (this.#verbose) this.#out(`${timestamp()} - ${text}`);
  }

  /** Returns the message. */
  @expose(STRICT_MESSAGE)
  echo(message: unknown): unknown {
    this.#log(`echo: ${Deno.inspect(message)}`);
    return message;
  }

  /** Raises a ValueError. */
  @expose(STRICT_NONE)
  error(): never {
    this.#log("error: generating exception");
    throw new RangeError("this is the generated error from echoserver echo() method");
  }

  /** Raises a ValueError with a message. */
  @expose(STRICT_NONE)
  error_with_text(): never {
    this.#log("error: generating exception");
    throw new RangeError("the message of the error");
  }

  /** Like echo, but oneway: the client does not wait. */
  @expose(STRICT_MESSAGE)
  @oneway
  oneway_echo(message: unknown): string {
    this.#log(`oneway_echo: ${Deno.inspect(message)}`);
    return "bogus return value";
  }

  /** Answers after a delay. */
  @expose(STRICT_NONE)
  async slow(): Promise<string> {
    this.#log("slow: waiting a bit...");
    await new Promise((resolve) => setTimeout(resolve, SLOW_SECONDS * 1000));
    this.#log("slow: returning result");
    return "Finally, an answer!";
  }

  /** Yields three items on demand. */
  @expose(STRICT_NONE)
  *generator(): Generator<string> {
    yield "one";
    yield "two";
    yield "three";
  }

  /** Returns NaN. */
  @expose(STRICT_NONE)
  nan(): number {
    return NaN;
  }

  /** Returns infinity. */
  @expose(STRICT_NONE)
  inf(): number {
    return Infinity;
  }

  /** Waits, then returns; the client does not wait for it. */
  @expose(STRICT_NONE)
  @oneway
  async oneway_slow(): Promise<string> {
    this.#log("oneway_slow: waiting a bit...");
    await new Promise((resolve) => setTimeout(resolve, SLOW_SECONDS * 1000));
    this.#log("oneway_slow: returning result");
    return "bogus return value";
  }

  /** A private method: refused remotely. */
  _private(): string {
    return "should not be allowed";
  }

  /** A dunder method: allowed remotely. */
  @expose(STRICT_NONE)
  __dunder__(): string {
    return "should be allowed (dunder)";
  }

  /** Asks the server to shut down. */
  @expose(STRICT_NONE)
  shutdown(): void {
    this.#log("shutting down");
    this.#shutdown();
  }

  /** Whether calls are printed. */
  get verbose(): boolean {
    return this.#verbose;
  }

  set verbose(onoff: boolean) {
    this.#verbose = Boolean(onoff);
  }
}

/** What `main` needs from the outside world; tests replace it. */
export type EchoServerIo = CommandIo;

/**
 * Runs the echo server command until a client calls `shutdown()` or `io.stop` resolves.
 *
 * @param args the command line arguments
 * @param io output, environment and stop signal
 * @returns the exit code
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./echoserver.ts";
 * const lines: string[] = [];
 * const code = await main(["-H", "127.0.0.1"], {
 *   out: (l) => lines.push(l), err: (l) => lines.push(l), env: {}, stop: Promise.resolve(),
 * });
 * assert(code === 0 && lines.some((l) => l.startsWith("echo uri: PYRO:test.echoserver@127.0.0.1:")));
 * ```
 */
export async function main(args: string[], io: EchoServerIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        host: { type: "string", short: "H", default: "localhost" },
        port: { type: "string", short: "p", default: "0" },
        unixsocket: { type: "string", short: "u" },
        naming: { type: "boolean", short: "n", default: false },
        nameserver: { type: "boolean", short: "N", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        quiet: { type: "boolean", short: "q", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return usageError(
      io,
      USAGE,
      "echoserver",
      error instanceof Error ? error.message : String(error),
    );
  }
  const options = parsed.values;
  if (options.help) {
    io.out(HELP);
    return 0;
  }
  const port = intOption(options.port, "-p/--port");
  if (port instanceof Error) return usageError(io, USAGE, "echoserver", port.message);
  const quiet = options.quiet && !options.verbose;
  const naming = options.naming || options.nameserver;
  const config = configFromEnv(io.env);
  if (!quiet) io.out("Starting Pyro's built-in test echo server.");

  const { promise: shutdownRequested, resolve: requestShutdown } = Promise.withResolvers<void>();
  const nameServer = options.nameserver
    ? await listening(
      "the name server",
      addressText(options.host, config.NS_PORT),
      () => startNameServer({ host: options.host, port: config.NS_PORT, config }),
    )
    : null;
  try {
    await using daemon = await listening(
      "the echo server",
      options.unixsocket ?? addressText(options.host, port ?? 0),
      () => new Daemon({ host: options.host, port, unixSocket: options.unixsocket, config }),
    );
    const echo = new EchoServer(io.out, requestShutdown);
    echo.verbose = options.verbose;
    const uri = daemon.register(echo, ECHO_OBJECT_NAME);
    if (naming) {
      const nsUri = nameServer?.uri;
      await using ns = await locateNS(nsUri?.host ?? undefined, nsUri?.port ?? undefined, {
        config,
      }).catch((error) => {
        if (!(error instanceof NamingError)) throw error;
        const where = nsLocation(nsUri?.host, nsUri?.port, config);
        throw new CommandError(`${error.message} at ${where}`, { cause: error });
      });
      await ns.register(ECHO_OBJECT_NAME, uri.toString());
      if (options.verbose) {
        io.out(`using name server at ${ns._pyroUri}`);
        if (nameServer) {
          io.out(
            nameServer.broadcast
              ? `broadcast server running at ${nameServer.broadcast.locationStr}`
              : "not using a broadcast server",
          );
        }
      }
    } else if (options.verbose) {
      io.out("not using a name server.");
    }
    if (!quiet) {
      io.out(`object name: ${ECHO_OBJECT_NAME}`);
      io.out(`echo uri: ${uri}`);
      io.out("echoserver running.");
    }
    await Promise.race([shutdownRequested, io.stop]);
  } finally {
    await nameServer?.close();
  }
  return 0;
}

if (import.meta.main) await runCommand(main);
