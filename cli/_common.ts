/**
 * What the commands share: their outside world (output, environment, a stop signal), argparse's
 * way of reporting a bad command line, and the entry point that runs a command until SIGINT or
 * SIGTERM.
 *
 * @module
 */

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
 * Runs a server command with the process's arguments, output and environment until it returns,
 * stopping it on SIGINT or SIGTERM, then exits with its code.
 *
 * @param main the command
 */
export async function runCommand(main: (args: string[], io: CommandIo) => Promise<number>) {
  const { promise: stop, resolve } = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, resolve);
  const code = await main(Deno.args, {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: Deno.env.toObject(),
    stop,
  });
  for (const signal of signals) Deno.removeSignalListener(signal, resolve);
  Deno.exit(code);
}
