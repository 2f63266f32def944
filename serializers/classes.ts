/**
 * Class dicts: how objects that are not plain values travel. Like Pyro5, an object goes out as a
 * dict with a `__class__` key, and such a dict coming in becomes an object again when its class is
 * known: Pyro's URI and proxy, Pyro's errors and Python's exceptions, and whatever the user
 * registers. Anything else is refused with a SerializeError, as Pyro5 refuses it.
 *
 * @module
 */
import {
  javaScriptClassOf,
  PYRO_ERROR_CLASSES,
  pythonArgsMessage,
  pythonClassOf,
  RemoteError,
  remoteJavaScriptError,
  SecurityError,
  SerializeError,
} from "../errors.ts";
import { PyroUri } from "../uri.ts";
import { isPlainObject, type PyStringDict, toPyroDict, tuple } from "./values.ts";

/** Turns an object into its class dict (a plain object with `__class__`). */
export type ClassToDict<T> = (value: T) => PyStringDict;
/** Turns a class dict back into an object. */
export type DictToClass = (className: string, dict: PyStringDict) => unknown;

/**
 * Pyro5's serialized proxy state: `(uri, oneway, methods, attrs, handshake, serializer)`.
 */
export interface ProxyState {
  /** The proxy's URI. */
  uri: PyroUri;
  /** Names of its oneway methods. */
  oneway: string[];
  /** Names of its methods. */
  methods: string[];
  /** Names of its remote attributes. */
  attrs: string[];
  /** Its handshake data. */
  handshake: unknown;
  /** Its serializer name, or null. */
  serializer: string | null;
}

/** Options for a {@linkcode ClassRegistry}. */
export interface ClassRegistryOptions {
  /**
   * Makes a usable proxy out of a received `Pyro5.client.Proxy` state. Without it, the state
   * itself is returned.
   * @default {undefined}
   */
  makeProxy?: (state: ProxyState) => unknown;
  /**
   * Offered every object before the default conversions; a returned dict is sent in its place
   * (the daemon uses it to send registered objects as proxies).
   * @default {undefined}
   */
  replace?: (value: object) => PyStringDict | undefined;
}

/** Any class (constructor), abstract ones included: what class-to-dict registrations key on. */
// deno-lint-ignore no-explicit-any
export type AnyClass = abstract new (...args: any[]) => unknown;

/**
 * Wraps an error inside a batch result, Pyro5's `Pyro5.core._ExceptionWrapper`: the call that
 * raised it ends the batch and the error is raised on the caller's side.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ExceptionWrapper } from "./classes.ts";
 * const wrapped = new ExceptionWrapper(new RangeError("no"));
 * assert(wrapped.error.message === "no");
 * ```
 */
export class ExceptionWrapper {
  /**
   * Wraps an error.
   *
   * @param error the wrapped error
   */
  constructor(readonly error: Error) {}
}

/**
 * Converts an error into Pyro5's exception class dict.
 *
 * @param error the error
 * @param traceback traceback lines to attach as `_pyroTraceback`
 * @returns the class dict
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { errorToDict } from "./classes.ts";
 * const d = errorToDict(new TypeError("bad"));
 * assert(d.__class__ === "builtins.TypeError" && d.__exception__ === true);
 * ```
 */
export function errorToDict(error: Error, traceback?: string[]): PyStringDict {
  const withArgs = error as Error & { args?: unknown; attributes?: unknown };
  const args = Array.isArray(withArgs.args)
    ? withArgs.args
    : error.message === ""
    ? []
    : [error.message];
  const attributes: PyStringDict = isPlainObject(withArgs.attributes)
    ? { ...withArgs.attributes }
    : {};
  if (traceback) attributes._pyroTraceback = traceback;
  const javaScriptClass = javaScriptClassOf(error);
  if (javaScriptClass !== undefined) attributes[JAVASCRIPT_CLASS] = javaScriptClass;
  return {
    __class__: pythonClassOf(error),
    __exception__: true,
    args: tuple(...args),
    attributes,
  };
}

/**
 * The exception attribute naming the JavaScript error class an error was (see
 * `javaScriptClassOf`), so a pyro-deno peer rebuilds it as that class; Python sets it as a
 * harmless attribute on the builtin exception it raises.
 */
const JAVASCRIPT_CLASS = "_pyroJavaScriptClass";

/** Rebuilds an error from Pyro5's exception class dict. */
function errorFromDict(className: string, dict: PyStringDict): Error {
  const args = Array.isArray(dict.args) ? [...dict.args] : [];
  const attributes: PyStringDict = isPlainObject(dict.attributes) ? { ...dict.attributes } : {};
  const tb = attributes._pyroTraceback;
  delete attributes._pyroTraceback;
  const remoteTraceback = Array.isArray(tb) ? tb.map(String) : typeof tb === "string" ? [tb] : [];
  const javaScriptClass = attributes[JAVASCRIPT_CLASS];
  if (typeof javaScriptClass === "string") {
    delete attributes[JAVASCRIPT_CLASS];
    const details = { pythonClass: className, args, remoteTraceback, attributes };
    const error = remoteJavaScriptError(javaScriptClass, details);
    if (error !== undefined) return error;
  }
  if (className.startsWith("Pyro5.errors.")) {
    const errorClass = PYRO_ERROR_CLASSES.get(className.slice("Pyro5.errors.".length));
    if (errorClass) {
      return new errorClass(pythonArgsMessage(args), { args, attributes, remoteTraceback });
    }
  }
  return new RemoteError(className, args, { attributes, remoteTraceback });
}

function proxyStateFrom(state: unknown): ProxyState {
  if (!Array.isArray(state) || state.length < 6) {
    throw new SerializeError("invalid Pyro5.client.Proxy state");
  }
  const names = (value: unknown): string[] =>
    Array.isArray(value) || value instanceof Set ? [...value].map(String) : [];
  return {
    uri: new PyroUri(String(state[0])),
    oneway: names(state[1]),
    methods: names(state[2]),
    attrs: names(state[3]),
    handshake: state[4],
    serializer: typeof state[5] === "string" ? state[5] : null,
  };
}

/** How many received URIs a registry keeps parsed; it starts over when full. */
const URIS_KEPT = 1024;

/**
 * The registry of class conversions one serializer uses, both ways: Pyro5's
 * `register_class_to_dict` and `register_dict_to_class`, per proxy or daemon rather than global.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ClassRegistry } from "./classes.ts";
 * class Point {
 *   constructor(public x: number, public y: number) {}
 * }
 * const classes = new ClassRegistry()
 *   .registerClassToDict(Point, (p) => ({ __class__: "shapes.Point", x: p.x, y: p.y }))
 *   .registerDictToClass("shapes.Point", (_, d) => new Point(d.x as number, d.y as number));
 * const back = classes.fromDict(classes.toDict(new Point(1, 2))) as Point;
 * assert(back instanceof Point && back.y === 2);
 * ```
 */
export class ClassRegistry {
  #toDict = new Map<AnyClass, ClassToDict<never>>();
  #fromDict = new Map<string, DictToClass>();
  #options: ClassRegistryOptions;
  /** URIs received, by their text (see `fromDict`). */
  #uris = new Map<string, PyroUri>();

  /**
   * Makes a registry with Pyro5's built-in conversions and no registrations.
   *
   * @param options proxy factory and object replacement hooks
   */
  constructor(options: ClassRegistryOptions = {}) {
    this.#options = options;
  }

  /**
   * A copy of this registry with other hooks; registrations are copied.
   *
   * @param options the hooks of the copy (merged over this registry's)
   * @returns the new registry
   */
  with(options: ClassRegistryOptions): ClassRegistry {
    const copy = new ClassRegistry({ ...this.#options, ...options });
    for (const [k, v] of this.#toDict) copy.#toDict.set(k, v);
    for (const [k, v] of this.#fromDict) copy.#fromDict.set(k, v);
    return copy;
  }

  /**
   * Registers how instances of a class (and its subclasses) go out.
   *
   * @param cls the class
   * @param convert returns the dict to send, with a `__class__` key
   * @returns this registry
   */
  registerClassToDict<T>(cls: abstract new (...args: never[]) => T, convert: ClassToDict<T>): this {
    this.#toDict.set(cls as AnyClass, convert as ClassToDict<never>);
    return this;
  }

  /**
   * Removes a class-to-dict registration.
   *
   * @param cls the class
   * @returns this registry
   */
  unregisterClassToDict(cls: AnyClass): this {
    this.#toDict.delete(cls);
    return this;
  }

  /**
   * Registers how dicts with this `__class__` come in.
   *
   * @param className the fully qualified class name
   * @param convert makes the object out of the dict
   * @returns this registry
   */
  registerDictToClass(className: string, convert: DictToClass): this {
    this.#fromDict.set(className, convert);
    return this;
  }

  /**
   * Removes a dict-to-class registration.
   *
   * @param className the class name
   * @returns this registry
   */
  unregisterDictToClass(className: string): this {
    this.#fromDict.delete(className);
    return this;
  }

  /**
   * The dict an object that is not a plain value travels as.
   *
   * @param value a class instance, error, URI, proxy...
   * @returns its class dict
   * @throws {SerializeError} for functions, symbols and other values that cannot travel
   */
  toDict(value: object): PyStringDict {
    const replaced = this.#options.replace?.(value);
    if (replaced) return replaced;
    const own = (value as { [toPyroDict]?: () => PyStringDict })[toPyroDict];
    if (typeof own === "function") return own.call(value);
    for (const [cls, convert] of this.#toDict) {
      if (value instanceof cls) return (convert as ClassToDict<unknown>)(value);
    }
    if (value instanceof ExceptionWrapper) {
      return { __class__: "Pyro5.core._ExceptionWrapper", exception: errorToDict(value.error) };
    }
    if (value instanceof Error) return errorToDict(value);
    if (typeof value === "function") {
      throw new SerializeError(
        `don't know how to serialize function ${value.name || "<anonymous>"}`,
      );
    }
    const ctor = (value as { constructor?: { name?: string; pythonClass?: string } }).constructor;
    const className = ctor?.pythonClass ?? ctor?.name ?? "object";
    const dict: PyStringDict = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== "function") dict[k] = v;
    }
    dict.__class__ = className;
    return dict;
  }

  /**
   * The object a received class dict stands for.
   *
   * @param dict a decoded dict with a `__class__` key
   * @returns the object
   * @throws {SecurityError} for class names with double underscores, as Pyro5
   * @throws {SerializeError} for classes nobody registered
   */
  fromDict(dict: PyStringDict): unknown {
    const className = String(dict.__class__);
    const custom = this.#fromDict.get(className);
    if (custom) return custom(className, dict);
    if (className.includes("__")) {
      throw new SecurityError(
        `refused to deserialize types with double underscores in their name: ${className}`,
      );
    }
    switch (className) {
      case "Pyro5.core.URI": {
        // URIs are immutable: one that arrives again (name server lookups) is parsed once.
        const text = PyroUri.stateText(dict.state);
        let uri = this.#uris.get(text);
        if (uri === undefined) {
          uri = new PyroUri(text);
          if (this.#uris.size >= URIS_KEPT) this.#uris.clear();
          this.#uris.set(text, uri);
        }
        return uri;
      }
      case "Pyro5.client.Proxy": {
        const state = proxyStateFrom(dict.state);
        return this.#options.makeProxy ? this.#options.makeProxy(state) : state;
      }
      case "Pyro5.core._ExceptionWrapper": {
        const inner = dict.exception;
        const error = inner instanceof Error
          ? inner
          : isPlainObject(inner) && "__class__" in inner
          ? this.fromDict(inner)
          : inner;
        if (!(error instanceof Error)) throw new SerializeError("invalid exception wrapper");
        return new ExceptionWrapper(error);
      }
    }
    if (className.startsWith("Pyro5.errors.") || dict.__exception__ === true) {
      return errorFromDict(className, dict);
    }
    throw new SerializeError(`unsupported serialized class: ${className}`);
  }
}
