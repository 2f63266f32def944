/**
 * `deno task check-config`: prints the configuration in effect, in `pyro5-check-config`'s layout
 * (versions, then every item as `ITEM = value`, sorted), each item followed by where its value
 * came from: `(default)` or `(environment PYRO_X)`.
 *
 * ```
 * deno task check-config
 * ```
 *
 * Shows the `PYRO_*` variables it may read without a prompt (all with `--allow-env`), as the
 * library's defaults do.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };
import {
  configFromEnv,
  DEFAULT_CONFIG,
  isFloatItem,
  type PyroConfig,
  pyroEnvironment,
} from "../config.ts";
import { PROTOCOL_VERSION } from "../protocol/message.ts";
import type { CommandIo } from "./_common.ts";

/** The Pyro5 release whose protocol, configuration and behaviour this library follows. */
const PYRO5_VERSION = "5.15";

const USAGE = "usage: check-config [-h]";

const HELP = `${USAGE}

Prints the Pyro configuration in effect and where each value came from.

options:
  -h, --help  show this help message and exit`;

function pythonStr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return quote + out + quote;
}

/** Python's `repr(float)`: the shortest round-trip digits, exponent form outside [1e-4, 1e16). */
function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const [mantissa, exponent] = value.toExponential().split("e");
  const e = Number(exponent);
  if (value !== 0 && (e < -4 || e >= 16)) {
    return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const fixed = String(value);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

/**
 * Shows a configuration value as Python's `str()` shows Pyro5's (`None`, `True`, `2.0`,
 * `['a', 'b']`).
 *
 * @param item the item's name (for floats)
 * @param value its value
 * @returns the text
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { showValue } from "./check_config.ts";
 * assert(showValue("POLLTIMEOUT", 2) === "2.0" && showValue("NATHOST", null) === "None");
 * ```
 */
export function showValue(item: string, value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return isFloatItem(item) ? pythonFloat(value) : String(value);
  if (Array.isArray(value)) return `[${value.map((v) => pythonStr(String(v))).join(", ")}]`;
  return String(value);
}

/**
 * Runs the command: prints the configuration that `PYRO_*` in `io.env` makes.
 *
 * @param args the command line arguments
 * @param io output and environment
 * @returns the exit code: 0, 1 for a bad `PYRO_*` variable, 2 for a bad command line
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./check_config.ts";
 * const lines: string[] = [];
 * const code = main([], { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} });
 * assert(code === 0 && lines.includes("NS_PORT = 9090  (default)"));
 * ```
 */
export function main(args: string[], io: Pick<CommandIo, "out" | "err" | "env">): number {
  if (args.includes("-h") || args.includes("--help")) {
    io.out(HELP);
    return 0;
  }
  if (args.length > 0) {
    io.err(USAGE);
    io.err(`check-config: error: unrecognized arguments: ${args.join(" ")}`);
    return 2;
  }
  let config: Readonly<PyroConfig>;
  try {
    config = configFromEnv(io.env);
  } catch (error) {
    io.err(`Error: ${(error as Error).message}`);
    return 1;
  }
  const lines = [
    `Pyro version: ${PYRO5_VERSION} (pyro-deno ${denoJson.version})`,
    `Loaded from: ${
      decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "")
    }`,
    `Deno version: ${Deno.version.deno} (${Deno.build.os}, ${Deno.build.arch})`,
    `Protocol version: ${PROTOCOL_VERSION}`,
    "Currently active global configuration settings:",
  ];
  for (const item of Object.keys(DEFAULT_CONFIG).sort()) {
    const variable = `PYRO_${item}`;
    const source = io.env[variable] !== undefined ? `environment ${variable}` : "default";
    const value = showValue(item, config[item as keyof PyroConfig]);
    lines.push(`${item} = ${value}  (${source})`);
  }
  for (const line of lines) io.out(line);
  return 0;
}

if (import.meta.main) {
  Deno.exit(main(Deno.args, { out: console.log, err: console.error, env: pyroEnvironment() }));
}
