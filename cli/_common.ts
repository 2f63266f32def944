/**
 * What the commands share: their outside world (output, environment, a stop signal), argparse's
 * way of reporting a bad command line, one-line errors that say what failed and where, and the
 * entry point that runs a command until SIGINT or SIGTERM.
 *
 * @module
 */
import type { PyroConfig } from "../config.ts";

/** What a server command's `main` needs from the outside world; tests replace it. */
export interface CommandIo {
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  /** The environment (for `PYRO_*`). */
  env: Record<string, string | undefined>;
  /** Resolves when the command must stop (a signal). */
  stop: Promise<void>;
}

/**
 * Reports a bad command line as Python's argparse does: the usage, then `prog: error: ...`.
 *
 * @param io where the lines go
 * @param usage the usage text
 * @param prog the command's name
 * @param message what is wrong
 * @returns argparse's exit code, 2
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { usageError } from "./_common.ts";
 * const lines: string[] = [];
 * const code = usageError({ err: (l) => lines.push(l) }, "usage: x", "x", "bad");
 * assert(code === 2 && lines[1] === "x: error: bad");
 * ```
 */
export function usageError(
  io: Pick<CommandIo, "err">,
  usage: string,
  prog: string,
  message: string,
): number {
  io.err(usage);
  io.err(`${prog}: error: ${message}`);
  return 2;
}

/**
 * Parses an integer option as argparse's `type=int` does.
 *
 * @param value the option's text, if given
 * @param flag the option's names, for the message (`-p/--port`)
 * @returns the number, undefined when not given, or an Error with argparse's message
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { intOption } from "./_common.ts";
 * assert(intOption(" 42 ", "-p/--port") === 42 && intOption(undefined, "-p") === undefined);
 * assert(intOption("x", "-p/--port") instanceof Error);
 * ```
 */
export function intOption(value: string | undefined, flag: string): number | undefined | Error {
  if (value === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(value)) {
    return new Error(`argument ${flag}: invalid int value: '${value}'`);
  }
  return Number.parseInt(value, 10);
}

/**
 * An error a command reports as it is: its message already says what failed and where.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CommandError, errorLine } from "./_common.ts";
 * assert(errorLine(new CommandError("Cannot listen on x:1: in use")) === "Error: Cannot listen on x:1: in use");
 * ```
 */
export class CommandError extends Error {
  /**
   * @param message what failed and where
   * @param options the underlying error as `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
  }
}

/**
 * The one line a command prints for an error: `Error: ` and its message (a Pyro error's class
 * name first, as Pyro5's tools print it).
 *
 * @param error what was thrown
 * @returns the line
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { errorLine } from "./_common.ts";
 * assert(errorLine(new RangeError("Invalid boolean value: PYRO_SSL=x")) === "Error: Invalid boolean value: PYRO_SSL=x");
 * ```
 */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return `Error: ${String(error)}`;
  const message = error.message.split("\n")[0];
  return `Error: ${message}`;
}

/**
 * Whether a command shows stack traces: asked for with `-v`/`--verbose` or `PYRO_LOGLEVEL=DEBUG`.
 *
 * @param args the command line arguments
 * @param env the environment
 * @returns true to show them
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { wantsTraceback } from "./_common.ts";
 * assert(wantsTraceback(["-v"], {}) && wantsTraceback([], { PYRO_LOGLEVEL: "DEBUG" }));
 * assert(!wantsTraceback(["list"], {}));
 * ```
 */
export function wantsTraceback(args: string[], env: Record<string, string | undefined>): boolean {
  return args.includes("-v") || args.includes("--verbose") || env.PYRO_LOGLEVEL === "DEBUG";
}

/**
 * Starts something that listens, naming the address when that fails (a port in use, an address
 * that is not local, a Unix socket path that cannot be made).
 *
 * @param what what is started ("the echo server")
 * @param where the address (`host:port` or a Unix socket path)
 * @param start starts it
 * @returns what `start` returns
 * @throws {CommandError} `Cannot start WHAT on WHERE: reason`
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { listening } from "./_common.ts";
 * using first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const where = `127.0.0.1:${first.addr.port}`;
 * await assert.rejects(
 *   listening("a listener", where, () => Deno.listen({ hostname: "127.0.0.1", port: first.addr.port })),
 *   { message: /^Cannot start a listener on 127\.0\.0\.1:\d+: address already in use/ },
 * );
 * ```
 */
export async function listening<T>(
  what: string,
  where: string,
  start: () => T | Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof CommandError) throw error;
    const reason = error instanceof Deno.errors.AddrInUse
      ? "address already in use"
      : error instanceof Deno.errors.AddrNotAvailable
      ? "address not available"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new CommandError(`Cannot start ${what} on ${where}: ${reason}`, { cause: error });
  }
}

/**
 * Shows `host:port` as an address (`[::1]:9090` for IPv6).
 *
 * @param host the host
 * @param port the port
 * @returns the address text
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { addressText } from "./_common.ts";
 * assert(addressText("::1", 9090) === "[::1]:9090" && addressText("localhost", 1) === "localhost:1");
 * ```
 */
export function addressText(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Runs a command with the process's arguments, output and environment until it returns,
 * stopping it on SIGINT or SIGTERM, then exits with its code. An error it throws is printed as
 * one `Error: ...` line (with its stack only when {@linkcode wantsTraceback}) and exits with 1.
 *
 * @param main the command
 */
export async function runCommand(main: (args: string[], io: CommandIo) => Promise<number>) {
  const { promise: stop, resolve } = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, resolve);
  const env = Deno.env.toObject();
  let code: number;
  try {
    code = await main(Deno.args, {
      out: (line) => console.log(line),
      err: (line) => console.error(line),
      env,
      stop,
    });
  } catch (error) {
    console.error(errorLine(error));
    if (wantsTraceback(Deno.args, env)) console.error(error);
    code = 1;
  }
  for (const signal of signals) Deno.removeSignalListener(signal, resolve);
  Deno.exit(code);
}

/**
 * Where `locateNS(host, port)` looks for the name server, for error messages.
 *
 * @param host the host given (`./u:path` for a Unix socket), or empty to search
 * @param port the port given, or null
 * @param config NS_HOST, NS_PORT and NS_BCPORT
 * @returns e.g. `127.0.0.1:9090`, or `localhost:9090 and broadcast port 9091`
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { nsLocation } from "./_common.ts";
 * import { DEFAULT_CONFIG } from "../config.ts";
 * assert(nsLocation("127.0.0.1", 1234, DEFAULT_CONFIG) === "127.0.0.1:1234");
 * assert(nsLocation("", null, DEFAULT_CONFIG) === "localhost:9090 and broadcast port 9091");
 * ```
 */
export function nsLocation(
  host: string | null | undefined,
  port: number | null | undefined,
  config: Pick<PyroConfig, "NS_HOST" | "NS_PORT" | "NS_BCPORT">,
): string {
  if (host?.startsWith("./u:")) return `Unix socket ${host.slice(4)}`;
  if (host) return addressText(host, port || config.NS_PORT);
  return `${addressText(config.NS_HOST, config.NS_PORT)} and broadcast port ${
    port || config.NS_BCPORT
  }`;
}
