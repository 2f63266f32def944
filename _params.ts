/**
 * Binding a Python caller's keyword arguments to a method's parameters by name, as Python does.
 *
 * A method's parameter names come from an explicit declaration (`@expose({ params })`,
 * `exposeObject(obj, { params })`) or, failing that, from its own source text
 * (`Function.prototype.toString`): plain names, defaults (a parameter with a default may be left
 * out), rest parameters (`...rest` takes extra positional arguments, never a keyword) and
 * destructured parameters (positional only, as they have no name). Methods, functions, arrows,
 * async and generator forms are read. TypeScript's `x?: T` leaves no trace at run time, so such
 * a parameter counts as required unless it has a default or is declared `"x?"`.
 *
 * Errors are `TypeError`s worded as Python's, e.g. `f() got an unexpected keyword argument 'x'`.
 *
 * @module
 */

/** One parameter of a method. */
export interface Parameter {
  /** Its name; null for a destructured parameter (positional only). */
  name: string | null;
  /** Whether a caller may leave it out (it has a default, or was declared optional). */
  optional: boolean;
}

/** What a method accepts, for binding keyword arguments. */
export interface Signature {
  /** The named (or destructured) parameters in order, without the rest or kwargs parameter. */
  params: Parameter[];
  /** Whether a rest parameter takes extra positional arguments. */
  rest: boolean;
  /** Whether the parameter after `params` receives the unmatched keywords as one object. */
  kwargs: boolean;
}

/** What was declared for a method: its signature, or only flags. */
type Declared = (Signature & { strict: boolean }) | {
  params?: undefined;
  kwargs: boolean;
  strict: boolean;
};

/** Options declaring a method's parameters, for `@expose(options)` and `exposeObject`. */
export interface ParamsOptions {
  /**
   * The parameter names, in order, for code whose source does not show them (e.g. minified):
   * `"name"` is required, `"name?"` may be left out, `"...name"` (last) takes extra positional
   * arguments. Without it the names are read from the method's source.
   * @default {undefined}
   */
  params?: readonly string[];
  /**
   * The method's last parameter receives every keyword argument that matches no other
   * parameter, as one plain object (Python's `**kwargs`); an empty object when there are none.
   * @default {false}
   */
  kwargs?: boolean;
  /**
   * Check every call as Python does, also one without keyword arguments: too many positional
   * arguments or a missing one is a `TypeError`. Off by default, as a JavaScript method is often
   * called with fewer arguments and TypeScript's `x?` leaves no trace at run time.
   * @default {false}
   */
  strict?: boolean;
}

/** Holds the explicit signature declared for a function. */
const DECLARED: unique symbol = Symbol.for("pyro-deno.signature");
/** Points from a wrapper to the function whose parameters it takes. */
const SIGNATURE_OF: unique symbol = Symbol.for("pyro-deno.signatureOf");

type WithSignature = { [DECLARED]?: Declared; [SIGNATURE_OF]?: unknown };

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/**
 * Checks declared parameters and attaches them to a function (kept by reference, as given).
 *
 * @param fn the method
 * @param options the declared names and kwargs flag
 * @throws {TypeError} for an invalid name list
 */
export function declareParams(fn: unknown, options: ParamsOptions): void {
  if (typeof fn !== "function") return;
  const signature = options.params === undefined ? null : declaredSignature(options.params);
  const kwargs = options.kwargs === true;
  const strict = options.strict === true;
  for (const flag of ["kwargs", "strict"] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== "boolean") {
      throw new TypeError(`The ${flag} option must be a boolean`);
    }
  }
  if (signature?.rest && kwargs) {
    throw new TypeError("A method cannot take both a rest parameter and kwargs");
  }
  Object.defineProperty(fn, DECLARED, {
    value: signature ? { ...signature, kwargs, strict } : { kwargs, strict },
    configurable: true,
  });
}

/**
 * Makes a wrapper take the parameters of the function it calls.
 *
 * @param wrapper the function that is called
 * @param original the function whose parameter names count
 */
export function takeSignatureOf(wrapper: object, original: unknown): void {
  Object.defineProperty(wrapper, SIGNATURE_OF, { value: original, configurable: true });
}

function declaredSignature(names: readonly string[]): Signature {
  if (!Array.isArray(names)) throw new TypeError("The params option must be an array of names");
  const params: Parameter[] = [];
  let rest = false;
  const seen = new Set<string>();
  names.forEach((entry: unknown, i) => {
    if (typeof entry !== "string") {
      throw new TypeError("The params option must be an array of names");
    }
    let name = entry;
    if (name.startsWith("...")) {
      if (i !== names.length - 1) throw new TypeError(`A rest parameter must be last: ${entry}`);
      rest = true;
      name = name.slice(3);
    }
    const optional = !rest && name.endsWith("?");
    if (optional) name = name.slice(0, -1);
    if (!IDENTIFIER.test(name)) throw new TypeError(`Invalid parameter name: ${entry}`);
    if (seen.has(name)) throw new TypeError(`Duplicate parameter name: ${name}`);
    seen.add(name);
    if (!rest) params.push({ name, optional });
  });
  return { params, rest, kwargs: false };
}

const parsedCache = new WeakMap<object, Signature | null>();

/**
 * The signature of a method: what was declared for it, else what its source shows.
 *
 * @param fn the method
 * @returns the signature, or null when its parameter names cannot be known
 */
export function signatureOf(fn: unknown): Signature | null {
  if (typeof fn !== "function") return null;
  let source: unknown = fn;
  for (let i = 0; i < 8 && typeof (source as WithSignature)[SIGNATURE_OF] === "function"; i++) {
    source = (source as WithSignature)[SIGNATURE_OF];
  }
  const declared = (source as WithSignature)[DECLARED] ?? (fn as WithSignature)[DECLARED];
  if (declared?.params !== undefined) return declared;
  let parsed = parsedCache.get(source as object);
  if (parsed === undefined) {
    parsed = parseParameters(Function.prototype.toString.call(source));
    parsedCache.set(source as object, parsed);
  }
  if (parsed === null) return null;
  if (!declared?.kwargs) return parsed;
  // The last parameter is the kwargs object.
  if (parsed.rest || parsed.params.length === 0) return null;
  return { params: parsed.params.slice(0, -1), rest: false, kwargs: true };
}

/**
 * Reads the parameter list from a function's source text.
 *
 * @param source what `Function.prototype.toString` gives
 * @returns the signature (kwargs false), or null when the source shows no parameter list
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseParameters } from "./_params.ts";
 * const sig = parseParameters("async setTarget(celsius, unit = 'C', ...more) { }")!;
 * assert.deepEqual(sig.params.map((p) => [p.name, p.optional]), [["celsius", false], ["unit", true]]);
 * assert(sig.rest);
 * ```
 */
export function parseParameters(source: string): Signature | null {
  const list = parameterListOf(source);
  if (list === null) return null;
  const params: Parameter[] = [];
  let rest = false;
  const parts = splitTopLevel(list);
  if (parts === null) return null;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === "") {
      if (i === parts.length - 1 && i > 0) break; // a trailing comma
      return null;
    }
    if (rest) return null; // nothing may follow a rest parameter
    if (part.startsWith("...")) {
      rest = true;
      continue;
    }
    if (part.startsWith("{") || part.startsWith("[")) {
      params.push({ name: null, optional: hasDefault(part) });
      continue;
    }
    const match = /^([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*(=)?/u.exec(part);
    if (!match) return null;
    const tail = part.slice(match[0].length).trim();
    if (!match[2] && tail !== "") return null;
    params.push({ name: match[1], optional: match[2] !== undefined });
  }
  return { params, rest, kwargs: false };
}

/** Whether a destructuring pattern's text ends in a default (`{ a } = {}`). */
function hasDefault(part: string): boolean {
  const end = balancedEnd(part, 0);
  return end >= 0 && /^\s*=/.test(part.slice(end + 1));
}

/** The text between the parentheses of a function's parameter list, or null. */
function parameterListOf(source: string): string | null {
  let s = stripComments(source);
  if (s === null) return null;
  s = s.trim();
  if (/^class\b/.test(s)) return null;
  if (s.includes("[native code]")) return null;
  // Arrow with one bare parameter: `x => ...`, `async x => ...`.
  const bare = /^(?:async\s+)?([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*=>/u.exec(s);
  if (bare && bare[1] !== "async") return bare[1];
  if (bare && /^async\s*=>/.test(s)) return "async";
  let i = 0;
  if (s[0] === "[") {
    // A computed method name: skip it, balanced.
    const end = balancedEnd(s, 0);
    if (end < 0) return null;
    i = end + 1;
  }
  const open = s.indexOf("(", i);
  if (open < 0) return null;
  const head = s.slice(i, open);
  // Before the list: `function name`, `async`, `*`, `get`/`set`/`static`, a (quoted) name.
  if (/["'`]/.test(head) && !/^\s*(?:async\s*)?\*?\s*(["'])[^"'\\]*\1\s*$/.test(head)) return null;
  const close = balancedEnd(s, open);
  if (close < 0) return null;
  return s.slice(open + 1, close);
}

/** The index of the bracket closing the one at `start`, skipping strings; -1 if none. */
function balancedEnd(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"' || c === "`") {
      i = stringEnd(s, i);
      if (i < 0) return -1;
    } else if (c === "/" && isRegexStart(s, i)) {
      i = regexEnd(s, i);
      if (i < 0) return -1;
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** The index of the quote closing the string literal starting at `start`; -1 if none. */
function stringEnd(s: string, start: number): number {
  const quote = s[start];
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === quote) return i;
    else if (quote === "`" && c === "$" && s[i + 1] === "{") {
      const end = balancedEnd(s, i + 1);
      if (end < 0) return -1;
      i = end;
    }
  }
  return -1;
}

/** The source without comments (strings kept as they are); null when a comment never ends. */
function stripComments(s: string): string | null {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"' || c === "`") {
      const end = stringEnd(s, i);
      if (end < 0) return out + s.slice(i);
      out += s.slice(i, end + 1);
      i = end;
    } else if (c === "/" && s[i + 1] !== "*" && s[i + 1] !== "/" && isRegexStart(out, out.length)) {
      const end = regexEnd(s, i);
      if (end < 0) return null;
      out += s.slice(i, end + 1);
      i = end;
    } else if (c === "/" && s[i + 1] === "*") {
      const end = s.indexOf("*/", i + 2);
      if (end < 0) return null;
      out += " ";
      i = end + 1;
    } else if (c === "/" && s[i + 1] === "/") {
      const end = s.indexOf("\n", i);
      if (end < 0) return out;
      out += " ";
      i = end - 1;
    } else out += c;
  }
  return out;
}

/** Splits a parameter list at its top-level commas; trimmed parts. */
function splitTopLevel(list: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "'" || c === '"' || c === "`") {
      i = stringEnd(list, i);
      if (i < 0) return null;
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "/" && isRegexStart(list, i)) {
      i = regexEnd(list, i);
      if (i < 0) return null;
    } else if (c === "," && depth === 0) {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0) return null;
  parts.push(list.slice(start).trim());
  return parts.length === 1 && parts[0] === "" ? [] : parts;
}

/** Whether a `/` starts a regular expression literal (by the token before it). */
function isRegexStart(s: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && /\s/.test(s[j])) j--;
  return j < 0 || "=(,[{:;!&|?+-*%<>~^".includes(s[j]);
}

/** The index of the `/` closing the regular expression literal at `start`; -1 if none. */
function regexEnd(s: string, start: number): number {
  let inClass = false;
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) return i;
    else if (c === "\n") return -1;
  }
  return -1;
}

function quoted(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length === 1) return q[0];
  if (q.length === 2) return `${q[0]} and ${q[1]}`;
  return `${q.slice(0, -1).join(", ")}, and ${q[q.length - 1]}`;
}

/**
 * The arguments to call a method with, binding keyword arguments to its parameters by name as
 * Python does. Without keywords (and no kwargs parameter, not `strict`) the positional
 * arguments go as they are, as a JavaScript call would pass them.
 *
 * @param name the method's name in messages, as Python's qualified name (`Thermostat.setTarget`)
 * @param fn the method
 * @param args the positional arguments
 * @param keywords the keyword arguments
 * @param countSelf count Python's `self` in "takes N positional arguments" (for a method of a
 * class instance, as Python words it)
 * @returns the arguments in order
 * @throws {TypeError} with Python's wording for an unexpected keyword, a value given twice, a
 * missing argument or too many positional arguments; or when the names are unknown
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { bindArguments } from "./_params.ts";
 * function setTarget(celsius: number, unit = "C") {
 *   return `${celsius} ${unit}`;
 * }
 * assert.deepEqual(bindArguments("setTarget", setTarget, [], { celsius: 21 }), [21]);
 * assert.throws(
 *   () => bindArguments("setTarget", setTarget, [], { x: 1 }),
 *   /setTarget\(\) got an unexpected keyword argument 'x'/,
 * );
 * ```
 */
export function bindArguments(
  name: string,
  fn: unknown,
  args: readonly unknown[],
  keywords: Readonly<Record<string, unknown>>,
  countSelf = false,
): unknown[] {
  const keys = Object.keys(keywords);
  if (keys.length === 0 && !declaredFlag(fn, "kwargs") && !declaredFlag(fn, "strict")) {
    return args as unknown[];
  }
  const signature = signatureOf(fn);
  if (signature === null) {
    throw new TypeError(
      `${name}() cannot take keyword arguments: its parameter names are unknown ` +
        `(declare them with @expose({ params }))`,
    );
  }
  const { params, rest, kwargs } = signature;
  const n = params.length;
  if (args.length > n && !rest) {
    const self = countSelf ? 1 : 0;
    const most = n + self;
    const required = params.filter((p) => !p.optional).length + self;
    const takes = required === most ? `${most}` : `from ${required} to ${most}`;
    const plural = most === 1 && required === most ? "argument" : "arguments";
    const given = args.length + self;
    const was = given === 1 ? "was" : "were";
    throw new TypeError(`${name}() takes ${takes} positional ${plural} but ${given} ${was} given`);
  }
  const slots: unknown[] = args.slice(0, n);
  const filled = slots.map(() => true);
  const extra: Record<string, unknown> = {};
  for (const key of keys) {
    const index = params.findIndex((p) => p.name === key);
    if (index < 0) {
      if (kwargs) {
        extra[key] = keywords[key];
        continue;
      }
      throw new TypeError(`${name}() got an unexpected keyword argument '${key}'`);
    }
    if (index < args.length) {
      throw new TypeError(`${name}() got multiple values for argument '${key}'`);
    }
    slots[index] = keywords[key];
    filled[index] = true;
  }
  const missing: string[] = [];
  params.forEach((p, i) => {
    if (!filled[i] && !p.optional) missing.push(p.name ?? `<parameter ${i + 1}>`);
  });
  if (missing.length > 0) {
    const plural = missing.length === 1 ? "argument" : "arguments";
    throw new TypeError(
      `${name}() missing ${missing.length} required positional ${plural}: ${quoted(missing)}`,
    );
  }
  // Parameters not given are undefined (so their defaults apply), never holes.
  if (kwargs) {
    slots.length = n;
    return [...slots, extra];
  }
  if (rest && args.length > n) return [...slots, ...args.slice(n)];
  // Leave out trailing parameters that were not given, as a JavaScript caller would.
  let length = filled.length;
  while (length > 0 && !filled[length - 1]) length--;
  slots.length = length;
  return [...slots];
}

/**
 * Whether a call needs binding at all: it has keyword arguments, or the method takes them as
 * one object, or is `strict`. Without, the positional arguments go as they are (the fast, usual
 * path).
 *
 * @param fn the method
 * @param keywords the keyword arguments
 * @returns true when {@linkcode bindArguments} has work to do
 */
export function needsBinding(fn: unknown, keywords: Readonly<Record<string, unknown>>): boolean {
  for (const _ in keywords) return true;
  return declaredFlag(fn, "kwargs") || declaredFlag(fn, "strict");
}

function declaredFlag(fn: unknown, flag: "kwargs" | "strict"): boolean {
  let source: unknown = fn;
  for (let i = 0; i < 8 && typeof source === "function"; i++) {
    if ((source as WithSignature)[DECLARED]?.[flag] === true) return true;
    source = (source as WithSignature)[SIGNATURE_OF];
  }
  return false;
}
