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

/**
 * A Python exception that has no class of its own here, such as `builtins.ValueError` or a user's
 * `mymodule.InsufficientFunds`. Its `name` is the short Python class name.
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

/**
 * Python builtin exception class for each JavaScript error class that goes out over the wire;
 * any other error travels as `builtins.Exception`.
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
  if (error instanceof TypeError) return "builtins.TypeError";
  if (error instanceof RangeError) return "builtins.ValueError";
  if (error instanceof SyntaxError) return "builtins.SyntaxError";
  if (error instanceof ReferenceError) return "builtins.NameError";
  if (error instanceof Deno.errors.NotFound) return "builtins.FileNotFoundError";
  if (error instanceof Deno.errors.PermissionDenied) return "builtins.PermissionError";
  if (error instanceof Deno.errors.TimedOut) return "builtins.TimeoutError";
  return "builtins.Exception";
}
