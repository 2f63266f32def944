/**
 * The error classes of pyro-deno, mirroring Pyro5's `Pyro5.errors`, plus {@linkcode RemoteError}
 * for Python exceptions that have no class of their own here.
 *
 * Every error that crossed the wire carries the remote traceback in `remoteTraceback` (the lines
 * Pyro5 keeps in `_pyroTraceback`), its Python class name in `pythonClass`, and its Python `args`.
 *
 * @module
 */

/** Fields shared by every error that can travel between Pyro peers. */
export interface PyroErrorOptions extends ErrorOptions {
  /** Python's `args` tuple of the exception; defaults to `[message]`. */
  args?: unknown[];
  /** Remote traceback lines, as Pyro5 carries them in `_pyroTraceback`. */
  remoteTraceback?: string[];
  /** Extra attributes of the exception object (Pyro5's `attributes` dict). */
  attributes?: Record<string, unknown>;
}

/**
 * Generic base of all Pyro errors (Python `Pyro5.errors.PyroError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { NamingError, PyroError } from "./errors.ts";
 * const err = new NamingError("unknown name: x");
 * assert(err instanceof PyroError && err.pythonClass === "Pyro5.errors.NamingError");
 * ```
 */
export class PyroError extends Error {
  /** Python's exception `args`. */
  args: unknown[];
  /** Traceback lines of the remote side, when this error came over the wire. */
  remoteTraceback?: string[];
  /** Extra attributes the remote exception carried. */
  attributes: Record<string, unknown>;

  /**
   * Makes the error.
   *
   * @param message what went wrong
   * @param options args, remote traceback, attributes and cause
   */
  constructor(message = "", options: PyroErrorOptions = {}) {
    super(message, options);
    this.name = new.target.name;
    this.args = options.args ?? (message === "" ? [] : [message]);
    this.remoteTraceback = options.remoteTraceback;
    this.attributes = options.attributes ?? {};
  }

  /** The fully qualified Python class name this error travels as. */
  get pythonClass(): string {
    return `Pyro5.errors.${this.name}`;
  }
}

/**
 * Network communication failed (Python `Pyro5.errors.CommunicationError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CommunicationError } from "./errors.ts";
 * assert(new CommunicationError("cannot connect").name === "CommunicationError");
 * ```
 */
export class CommunicationError extends PyroError {}

/**
 * The connection was closed unexpectedly (Python `Pyro5.errors.ConnectionClosedError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CommunicationError, ConnectionClosedError } from "./errors.ts";
 * assert(new ConnectionClosedError("receiving: connection lost") instanceof CommunicationError);
 * ```
 */
export class ConnectionClosedError extends CommunicationError {}

/**
 * A call did not complete within its timeout (Python `Pyro5.errors.TimeoutError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { TimeoutError } from "./errors.ts";
 * assert(new TimeoutError("receiving: timeout").pythonClass === "Pyro5.errors.TimeoutError");
 * ```
 */
export class TimeoutError extends CommunicationError {}

/**
 * A message broke the Pyro protocol (Python `Pyro5.errors.ProtocolError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ProtocolError } from "./errors.ts";
 * assert(new ProtocolError("invalid data").message === "invalid data");
 * ```
 */
export class ProtocolError extends CommunicationError {}

/**
 * A message exceeds the configured maximum size (Python `Pyro5.errors.MessageTooLargeError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { MessageTooLargeError, ProtocolError } from "./errors.ts";
 * assert(new MessageTooLargeError("message too large") instanceof ProtocolError);
 * ```
 */
export class MessageTooLargeError extends ProtocolError {}

/**
 * A problem with the name server or with object names (Python `Pyro5.errors.NamingError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { NamingError } from "./errors.ts";
 * assert(new NamingError("unknown name").name === "NamingError");
 * ```
 */
export class NamingError extends PyroError {}

/**
 * The daemon encountered a problem (Python `Pyro5.errors.DaemonError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DaemonError } from "./errors.ts";
 * assert(new DaemonError("unknown object").name === "DaemonError");
 * ```
 */
export class DaemonError extends PyroError {}

/**
 * A security check refused something (Python `Pyro5.errors.SecurityError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SecurityError } from "./errors.ts";
 * assert(new SecurityError("attempt to access private attribute").name === "SecurityError");
 * ```
 */
export class SecurityError extends PyroError {}

/**
 * Serializing or deserializing data failed (Python `Pyro5.errors.SerializeError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ProtocolError, SerializeError } from "./errors.ts";
 * assert(new SerializeError("unsupported serialized class: x.Y") instanceof ProtocolError);
 * ```
 */
export class SerializeError extends ProtocolError {}

/** Brands JavaScript errors rebuilt from the wire, which count as {@linkcode RemoteError}s. */
const ARRIVED: unique symbol = Symbol("pyro-deno.arrivedError");

/**
 * A Python exception that has no class of its own here, such as `builtins.ValueError` or a user's
 * `mymodule.InsufficientFunds`. Its `name` is the short Python class name.
 *
 * JavaScript's own errors (`TypeError`, `RangeError`, ...) thrown by a pyro-deno method arrive as
 * instances of their own class instead (see {@linkcode remoteJavaScriptError}), carrying the same
 * fields; `instanceof RemoteError` is true for them too, so one check catches every remote error.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { RemoteError } from "./errors.ts";
 * const err = new RemoteError("builtins.ValueError", ["bad value"]);
 * assert(err.name === "ValueError" && err.message === "bad value");
 * ```
 */
export class RemoteError extends Error {
  /** Fully qualified Python class name, e.g. `builtins.ZeroDivisionError`. */
  readonly pythonClass: string;
  /** Python's exception `args`. */
  args: unknown[];
  /** Traceback lines of the remote side. */
  remoteTraceback?: string[];
  /** Extra attributes the remote exception carried. */
  attributes: Record<string, unknown>;

  /**
   * Makes the error a Python exception arrived as.
   *
   * @param pythonClass fully qualified Python class name
   * @param args the exception's `args`
   * @param options remote traceback, attributes and cause
   */
  constructor(
    pythonClass: string,
    args: unknown[] = [],
    options: Omit<PyroErrorOptions, "args"> = {},
  ) {
    super(pythonArgsMessage(args), options);
    this.pythonClass = pythonClass;
    this.name = pythonClass.slice(pythonClass.lastIndexOf(".") + 1);
    this.args = args;
    this.remoteTraceback = options.remoteTraceback;
    this.attributes = options.attributes ?? {};
  }

  /**
   * True for a RemoteError, and for a JavaScript error that arrived from a remote method.
   *
   * @param value any value
   * @returns whether it is a remote error
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === RemoteError && typeof value === "object" && value !== null &&
      ARRIVED in value;
  }
}

/**
 * How Python's `str(exception)` reads for these args: the single arg, or the args as a tuple.
 *
 * @param args the exception's args
 * @returns the message text
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonArgsMessage } from "./errors.ts";
 * assert(pythonArgsMessage(["oops"]) === "oops");
 * assert(pythonArgsMessage(["a", 1]) === "('a', 1)");
 * ```
 */
export function pythonArgsMessage(args: unknown[]): string {
  if (args.length === 0) return "";
  if (args.length === 1) return String(args[0]);
  return `(${args.map((a) => typeof a === "string" ? `'${a}'` : String(a)).join(", ")})`;
}

/** A constructor of one of the Pyro error classes. */
export type PyroErrorClass = new (message?: string, options?: PyroErrorOptions) => PyroError;

/**
 * The one table mapping Python's `Pyro5.errors` class names to the classes here.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PYRO_ERROR_CLASSES, NamingError } from "./errors.ts";
 * assert(PYRO_ERROR_CLASSES.get("NamingError") === NamingError);
 * ```
 */
export const PYRO_ERROR_CLASSES: ReadonlyMap<string, PyroErrorClass> = new Map<
  string,
  PyroErrorClass
>([
  ["PyroError", PyroError],
  ["CommunicationError", CommunicationError],
  ["ConnectionClosedError", ConnectionClosedError],
  ["TimeoutError", TimeoutError],
  ["ProtocolError", ProtocolError],
  ["MessageTooLargeError", MessageTooLargeError],
  ["NamingError", NamingError],
  ["DaemonError", DaemonError],
  ["SecurityError", SecurityError],
  ["SerializeError", SerializeError],
]);

/** What an error that crossed the wire carries, whatever its class. */
export interface RemoteErrorDetails {
  /** The fully qualified Python class name it travelled as, e.g. `builtins.ValueError`. */
  pythonClass: string;
  /** Python's exception `args`. */
  args: unknown[];
  /** Traceback lines of the remote side. */
  remoteTraceback?: string[];
  /** Extra attributes the remote exception carried. */
  attributes: Record<string, unknown>;
}

type ErrorClass = new (message?: string) => Error;

/**
 * JavaScript's own error classes that travel as themselves between pyro-deno peers, each with
 * the Python builtin a Python peer sees. Deno's `Deno.errors.*` classes are in the same table,
 * under `Deno.errors.<Name>`. Most specific classes first.
 */
function javaScriptErrorClasses(): [string, ErrorClass, string][] {
  const deno = Deno.errors as unknown as Record<string, ErrorClass>;
  const denoPython: Record<string, string> = {
    NotFound: "FileNotFoundError",
    PermissionDenied: "PermissionError",
    TimedOut: "TimeoutError",
    AlreadyExists: "FileExistsError",
    ConnectionRefused: "ConnectionRefusedError",
    ConnectionReset: "ConnectionResetError",
    ConnectionAborted: "ConnectionAbortedError",
    BrokenPipe: "BrokenPipeError",
    Interrupted: "InterruptedError",
    IsADirectory: "IsADirectoryError",
    NotADirectory: "NotADirectoryError",
    InvalidData: "ValueError",
  };
  const table: [string, ErrorClass, string][] = [];
  for (const [name, cls] of Object.entries(deno)) {
    if (typeof cls === "function" && cls.prototype instanceof Error) {
      table.push([`Deno.errors.${name}`, cls, `builtins.${denoPython[name] ?? "OSError"}`]);
    }
  }
  table.push(
    ["TypeError", TypeError, "builtins.TypeError"],
    ["RangeError", RangeError, "builtins.ValueError"],
    ["URIError", URIError, "builtins.ValueError"],
    ["SyntaxError", SyntaxError, "builtins.SyntaxError"],
    ["ReferenceError", ReferenceError, "builtins.NameError"],
    ["EvalError", EvalError, "builtins.Exception"],
  );
  return table;
}

const JAVASCRIPT_ERRORS: readonly [string, ErrorClass, string][] = javaScriptErrorClasses();

/**
 * The JavaScript error class an error travels as to a pyro-deno peer: the nearest of
 * JavaScript's own error classes (`TypeError`, `RangeError`, `SyntaxError`, `ReferenceError`,
 * `URIError`, `EvalError`) and Deno's (`Deno.errors.NotFound`, ...) it is an instance of.
 *
 * @param error an error
 * @returns the class's name (`Deno.errors.X` for Deno's), or undefined for any other error
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { javaScriptClassOf } from "./errors.ts";
 * assert(javaScriptClassOf(new RangeError("x")) === "RangeError");
 * assert(javaScriptClassOf(new Error("x")) === undefined);
 * ```
 */
export function javaScriptClassOf(error: unknown): string | undefined {
  // A RemoteError proper travels as its Python class; an arrived JavaScript error as its own.
  if (
    error instanceof PyroError || Function.prototype[Symbol.hasInstance].call(RemoteError, error)
  ) {
    return undefined;
  }
  return JAVASCRIPT_ERRORS.find(([, cls]) => error instanceof cls)?.[0];
}

/**
 * Makes an instance of one of JavaScript's (or Deno's) error classes that arrived from a
 * pyro-deno peer, carrying the remote details as a {@linkcode RemoteError} does, so that
 * `error instanceof RangeError` works on the calling side.
 *
 * @param javaScriptClass the class name, as {@linkcode javaScriptClassOf} gave it
 * @param details Python class, args, remote traceback, attributes
 * @returns the error, or undefined for a name not in the table
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { remoteJavaScriptError } from "./errors.ts";
 * const error = remoteJavaScriptError("RangeError", {
 *   pythonClass: "builtins.ValueError",
 *   args: ["too big"],
 *   remoteTraceback: ["Traceback ..."],
 *   attributes: {},
 * })!;
 * assert(error instanceof RangeError && error.message === "too big");
 * assert(error.remoteTraceback?.length === 1);
 * ```
 */
export function remoteJavaScriptError(
  javaScriptClass: string,
  details: RemoteErrorDetails,
): (Error & RemoteErrorDetails) | undefined {
  const cls = JAVASCRIPT_ERRORS.find(([name]) => name === javaScriptClass)?.[1];
  if (cls === undefined) return undefined;
  const error = new cls(pythonArgsMessage(details.args)) as Error & RemoteErrorDetails;
  error.pythonClass = details.pythonClass;
  error.args = details.args;
  error.remoteTraceback = details.remoteTraceback;
  error.attributes = details.attributes;
  Object.defineProperty(error, ARRIVED, { value: true });
  return error;
}

/**
 * Python builtin exception class for each JavaScript error class that goes out over the wire
 * (see {@linkcode javaScriptClassOf}); any other error travels as `builtins.Exception`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pythonClassOf } from "./errors.ts";
 * assert(pythonClassOf(new RangeError("x")) === "builtins.ValueError");
 * ```
 */
export function pythonClassOf(error: unknown): string {
  if (error instanceof PyroError || error instanceof RemoteError) return error.pythonClass;
  const pythonClass = (error as Partial<RemoteErrorDetails> | null)?.pythonClass;
  if (typeof pythonClass === "string" && error instanceof Error) return pythonClass;
  return JAVASCRIPT_ERRORS.find(([, cls]) => error instanceof cls)?.[2] ?? "builtins.Exception";
}
