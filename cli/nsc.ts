/**
 * `deno task nsc`: the name server control tool, with `python3 -m Pyro5.nsc`'s commands, flags
 * and output.
 *
 * ```
 * deno task nsc [-h] [-n HOST] [-p PORT] [-u UNIXSOCKET] [-v]
 *   {list,lookup,register,remove,removematching,listmatching,yplookup_all,yplookup_any,setmeta,ping}
 *   [args...]
 * ```
 *
 * Needs `--allow-net --allow-env` (and `--allow-read --allow-write` for a Unix socket).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { PyroProxy } from "../client.ts";
import { configFromEnv } from "../config.ts";
import { PyroError } from "../errors.ts";
import { locateNS } from "../locate.ts";
import { errorLine, nsLocation, usageError, wantsTraceback } from "./_common.ts";

const COMMANDS = [
  "list",
  "lookup",
  "register",
  "remove",
  "removematching",
  "listmatching",
  "yplookup_all",
  "yplookup_any",
  "setmeta",
  "ping",
] as const;
type Command = typeof COMMANDS[number];

const USAGE = `usage: nsc [-h] [-n HOST] [-p PORT] [-u UNIXSOCKET] [-v]
           {${COMMANDS.join(",")}}`;

const HELP = `${USAGE}

Pyro name server control utility.

positional arguments:
  {${COMMANDS.join(",")}}

options:
  -h, --help            show this help message and exit
  -n HOST, --host HOST  hostname of the NS
  -p PORT, --port PORT  port of the NS (or bc-port if host isn't specified)
  -u UNIXSOCKET, --unixsocket UNIXSOCKET
                        Unix domain socket name of the NS
  -v, --verbose         verbose output`;

/** What `main` needs from the outside world; tests replace it. */
export interface NscIo {
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes text to standard output without a newline (the confirmation prompt). */
  write(text: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  /** Reads one line of standard input; null at its end. */
  readLine(): Promise<string | null>;
  /** The environment (for `PYRO_*`). */
  env: Record<string, string | undefined>;
}

/** A command's argument problem: Python's `SystemExit(message)`. */
class Usage extends Error {}

/** Python's `repr()` of a string. */
function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/** How Python prints the metadata collection the name server returned (a set, or a list). */
function metadataText(metadata: unknown): string {
  if (metadata instanceof Set) {
    return metadata.size === 0
      ? "set()"
      : `{${[...metadata].map((m) => pythonRepr(String(m))).join(", ")}}`;
  }
  if (Array.isArray(metadata)) return `[${metadata.map((m) => pythonRepr(String(m))).join(", ")}]`;
  return String(metadata);
}

function hasItems(metadata: unknown): boolean {
  if (metadata instanceof Set) return metadata.size > 0;
  if (Array.isArray(metadata)) return metadata.length > 0;
  return Boolean(metadata);
}

/** Python's string ordering: by code point. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function entriesOf(result: unknown): [string, unknown][] {
  if (result instanceof Map) return [...result].map(([k, v]) => [String(k), v]);
  return Object.entries(result as Record<string, unknown>);
}

async function runCommand(
  ns: PyroProxy,
  command: Command,
  args: string[],
  io: NscIo,
): Promise<void> {
  const printList = (result: unknown, title = "") => {
    io.out(`--------START LIST ${title}`);
    for (const [name, value] of entriesOf(result).sort((a, b) => byCodePoint(a[0], b[0]))) {
      const [uri, metadata] = value as [unknown, unknown];
      io.out(`${name} --> ${uri}`);
      if (hasItems(metadata)) io.out(`    metadata: ${metadataText(metadata)}`);
    }
    io.out(`--------END LIST ${title}`);
  };
  switch (command) {
    case "ping":
      await ns.ping();
      io.out("Name server ping ok.");
      return;
    case "list":
      if (args.length === 0) printList(await ns.list(null, null, true));
      else printList(await ns.list(args[0], null, true), `- prefix '${args[0]}'`);
      return;
    case "listmatching":
      if (args.length !== 1) throw new Usage("requires one argument: pattern");
      printList(await ns.list(null, args[0], true), `- regex '${args[0]}'`);
      return;
    case "lookup": {
      if (args.length !== 1) throw new Usage("requires one argument: name");
      const [uri, metadata] = await ns.lookup(args[0], true) as [unknown, unknown];
      io.out(String(uri));
      if (hasItems(metadata)) io.out(`metadata: ${metadataText(metadata)}`);
      return;
    }
    case "register":
      if (args.length !== 2) throw new Usage("requires two arguments: name uri");
      await ns.register(args[0], args[1], true);
      io.out(`Registered ${args[0]}`);
      return;
    case "remove": {
      if (args.length !== 1) throw new Usage("requires one argument: name");
      const count = await ns.remove(args[0]) as number;
      io.out(count > 0 ? `Removed ${args[0]}` : "Nothing removed");
      return;
    }
    case "removematching": {
      if (args.length !== 1) throw new Usage("requires one argument: pattern");
      io.write("Potentially removing lots of items from the Name server. Are you sure (y/n)?");
      const sure = ((await io.readLine()) ?? "").trim();
      if (sure === "y" || sure === "Y") {
        const count = await ns.remove(null, null, args[0]);
        io.out(`${count} items removed.`);
      }
      return;
    }
    case "setmeta": {
      if (args.length < 1) throw new Usage("requires arguments: uri and zero or more meta tags");
      const metadata = new Set(args.slice(1));
      await ns.set_metadata(args[0], metadata);
      io.out(metadata.size > 0 ? "Metadata updated" : "Metadata cleared");
      return;
    }
    case "yplookup_all":
    case "yplookup_any": {
      if (args.length < 1) throw new Usage("requires at least one metadata tag argument");
      const result = command === "yplookup_all"
        ? await ns.yplookup(args, null, true)
        : await ns.yplookup(null, args, true);
      printList(result, " - searched by metadata");
      return;
    }
  }
}

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  host: { type: "string", short: "n" },
  port: { type: "string", short: "p" },
  unixsocket: { type: "string", short: "u" },
  verbose: { type: "boolean", short: "v" },
} as const;

interface CommandLine {
  options: { help?: boolean; host?: string; port?: string; unixsocket?: string; verbose?: boolean };
  command: string | undefined;
  /** The command's arguments: the positionals after it and every unknown dash-argument. */
  rest: string[];
}

/**
 * Parses the command line as argparse's `parse_known_args` does for pyro5-nsc: known options
 * anywhere, the first positional is the command, and everything else, unknown dash-arguments
 * included, goes to the command in order (`nsc list -x` lists the prefix `-x`).
 */
function parseCommandLine(args: string[]): CommandLine | string {
  const { tokens } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const known = new Set(Object.keys(OPTIONS));
  // An argument with any unknown option in it (`-x`, `-xv`, `--foo=1`) goes to the command whole.
  const unknownAt = new Set(
    tokens.filter((t) => t.kind === "option" && !known.has(t.name)).map((t) => t.index),
  );
  const options: CommandLine["options"] = {};
  let command: string | undefined;
  const rest: string[] = [];
  const passed = new Set<number>();
  for (const token of tokens) {
    if (unknownAt.has(token.index)) {
      if (!passed.has(token.index)) rest.push(args[token.index]);
      passed.add(token.index);
      continue;
    }
    if (token.kind === "positional") {
      if (command === undefined) command = token.value;
      else rest.push(token.value);
    } else if (token.kind === "option") {
      const name = token.name as keyof typeof OPTIONS;
      if (OPTIONS[name].type === "string") {
        if (token.value === undefined) {
          return `argument -${OPTIONS[name].short}/--${name}: expected one argument`;
        }
        (options as Record<string, string>)[name] = token.value;
      } else {
        (options as Record<string, boolean>)[name] = true;
      }
    }
  }
  return { options, command, rest };
}

/**
 * Runs the name server control command.
 *
 * @param args the command line arguments
 * @param io output, input and environment
 * @returns the exit code: 0, 1 after an error, 2 for a usage error
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./nsc.ts";
 * import { startNameServer } from "../nameserver.ts";
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
 * const lines: string[] = [];
 * const io = {
 *   out: (l: string) => lines.push(l), write: () => {}, err: (l: string) => lines.push(l),
 *   readLine: () => Promise.resolve(null), env: {},
 * };
 * await main(["-n", "127.0.0.1", "-p", String(server.uri.port), "ping"], io);
 * assert(lines[0] === "Name server ping ok.");
 * ```
 */
export async function main(args: string[], io: NscIo): Promise<number> {
  const parsed = parseCommandLine(args);
  if (typeof parsed === "string") return usageError(io, USAGE, "nsc", parsed);
  const { options, command, rest } = parsed;
  if (options.help) {
    io.out(HELP);
    return 0;
  }
  if (command === undefined) {
    return usageError(io, USAGE, "nsc", "the following arguments are required: command");
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    return usageError(
      io,
      USAGE,
      "nsc",
      `argument command: invalid choice: ${pythonRepr(command)} (choose from ${
        COMMANDS.map((c) => `'${c}'`).join(", ")
      })`,
    );
  }
  let port: number | null = null;
  if (options.port !== undefined) {
    if (!/^\s*[+-]?\d+\s*$/.test(options.port)) {
      return usageError(
        io,
        USAGE,
        "nsc",
        `argument -p/--port: invalid int value: '${options.port}'`,
      );
    }
    port = Number.parseInt(options.port, 10);
  }
  const traceback = wantsTraceback(options.verbose ? ["-v"] : [], io.env);
  let config;
  try {
    config = configFromEnv(io.env);
  } catch (error) {
    io.err(errorLine(error));
    return 1;
  }
  const host = options.unixsocket ? `./u:${options.unixsocket}` : options.host;
  if (options.verbose) io.out("Locating name server...");
  let ns: PyroProxy;
  try {
    ns = await locateNS(host, port, { config });
  } catch (error) {
    if (error instanceof PyroError) {
      // Pyro5's line, then where it looked.
      io.out(`Error: ${error.message} at ${nsLocation(host, port, config)}`);
    } else {
      io.err(errorLine(error));
    }
    if (traceback) io.err(String((error as Error)?.stack ?? error));
    return 1;
  }
  try {
    if (options.verbose) io.out(`Name server found: ${ns._pyroUri}`);
    try {
      await runCommand(ns, command as Command, rest, io);
    } catch (error) {
      if (error instanceof Usage) {
        io.err(error.message);
        return 1;
      }
      const e = error instanceof Error ? error : new Error(String(error));
      io.out(`Error: ${e.name} - ${e.message}`); // Pyro5's line
      if (traceback) {
        const remote = (e as { remoteTraceback?: string[] }).remoteTraceback;
        if (remote?.length) io.err(remote.join("").trimEnd());
        io.err(String(e.stack));
      }
      return 1;
    }
    if (options.verbose) io.out("Done.");
    return 0;
  } finally {
    ns._pyroRelease();
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const lines = (async function* () {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of Deno.stdin.readable) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        yield buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
      }
    }
    if (buffered) yield buffered;
  })();
  const env = Deno.env.toObject();
  let code: number;
  try {
    code = await main(Deno.args, {
      out: (line) => console.log(line),
      write: (text) => Deno.stdout.writeSync(encoder.encode(text)),
      err: (line) => console.error(line),
      readLine: async () => {
        const next = await lines.next();
        return next.done ? null : next.value;
      },
      env,
    });
  } catch (error) {
    console.error(errorLine(error));
    if (wantsTraceback(Deno.args, env)) console.error(error);
    code = 1;
  }
  Deno.exit(code);
}
