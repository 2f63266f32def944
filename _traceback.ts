/**
 * Python-looking traceback lines for JavaScript errors, for Pyro5's `_pyroTraceback` attribute:
 * a Python peer prints them as the remote traceback. Internal to `server.ts`.
 *
 * @module
 */
import { pythonClassOf } from "./errors.ts";

// "    at fn (file:///x.ts:3:11)", "    at async Foo.bar (file:///x.ts:3:11)", "    at file:///x.ts:3:11"
const FRAME = /^\s*at (?:(?:async )?(.*?) \()?(.+?):(\d+):\d+\)?$/;

/** Options of {@linkcode formatTraceback}. */
export interface TracebackOptions {
  /**
   * Module URLs whose frames are left out (e.g. the daemon's own); Deno's internal frames
   * (`ext:`, `node:`) are always left out.
   * @default {[]}
   */
  skipFiles?: readonly string[];
}

/**
 * Formats an error as the lines of a Python traceback, most recent call last:
 * `"Traceback (most recent call last):\n"`, one `'  File "…", line N, in fn\n'` per stack frame,
 * and `"ValueError: message\n"` (the Python class name the error travels as).
 *
 * @param error what was thrown
 * @param options frames to leave out
 * @returns the traceback lines, each ending with a newline
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatTraceback } from "./_traceback.ts";
 * const lines = formatTraceback(new RangeError("bad value"));
 * assert(lines[0] === "Traceback (most recent call last):\n");
 * assert(lines.at(-1) === "ValueError: bad value\n");
 * ```
 */
export function formatTraceback(error: unknown, options: TracebackOptions = {}): string[] {
  const skip = options.skipFiles ?? [];
  const lines = ["Traceback (most recent call last):\n"];
  const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : "";
  const frames: string[] = [];
  for (const line of stack.split("\n")) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const [, fn, file, lineNo] = match;
    if (file.startsWith("ext:") || file.startsWith("node:") || skip.includes(file)) continue;
    frames.push(`  File "${file}", line ${lineNo}, in ${fn || "<module>"}\n`);
  }
  for (let i = frames.length - 1; i >= 0; i--) lines.push(frames[i]);
  const pythonClass = pythonClassOf(error);
  const shown = pythonClass.startsWith("builtins.") ? pythonClass.slice(9) : pythonClass;
  const message = error instanceof Error ? error.message : String(error);
  lines.push(message === "" ? `${shown}\n` : `${shown}: ${message}\n`);
  return lines;
}
