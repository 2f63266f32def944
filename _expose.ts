/**
 * Which members of an object a daemon lets remote callers use: the `expose`, `oneway`,
 * `callback` and `behavior` decorators, {@linkcode exposeObject} for plain objects, and the
 * metadata (`methods`, `oneway`, `attrs`) a daemon derives from them, as Pyro5's
 * `_get_exposed_members` does. Internal: `server.ts` re-exports the public part.
 *
 * @module
 */
import { declareParams, type ParamsOptions } from "./_params.ts";

/** Marks a function (method, getter, setter) as remotely exposed. */
const EXPOSED: unique symbol = Symbol.for("pyro-deno.exposed");
/** Marks a method as oneway. */
const ONEWAY: unique symbol = Symbol.for("pyro-deno.oneway");
/** Marks a method as a callback. */
const CALLBACK: unique symbol = Symbol.for("pyro-deno.callback");
/** Holds a class's instancing behavior. */
const INSTANCING: unique symbol = Symbol.for("pyro-deno.instancing");
/** Holds the exposure spec given to {@linkcode exposeObject}. */
const EXPOSURE: unique symbol = Symbol.for("pyro-deno.exposure");

type Marked = { [EXPOSED]?: boolean; [ONEWAY]?: boolean; [CALLBACK]?: boolean };

// Pyro5's `_private_dunder_methods`: dunder names that stay private, plus JavaScript's own.
// Unlike Pyro5, `__call__` may be exposed: a proxy of an object exposing it is callable.
const PRIVATE_DUNDERS: ReadonlySet<string> = new Set([
  "__init__",
  "__init_subclass__",
  "__class__",
  "__module__",
  "__weakref__",
  "__new__",
  "__del__",
  "__repr__",
  "__str__",
  "__format__",
  "__nonzero__",
  "__bool__",
  "__coerce__",
  "__cmp__",
  "__eq__",
  "__ne__",
  "__hash__",
  "__ge__",
  "__gt__",
  "__le__",
  "__lt__",
  "__dir__",
  "__enter__",
  "__exit__",
  "__copy__",
  "__deepcopy__",
  "__sizeof__",
  "__getattr__",
  "__setattr__",
  "__hasattr__",
  "__getattribute__",
  "__delattr__",
  "__instancecheck__",
  "__subclasscheck__",
  "__getinitargs__",
  "__getnewargs__",
  "__getstate__",
  "__setstate__",
  "__reduce__",
  "__reduce_ex__",
  "__subclasshook__",
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

/**
 * Whether a member name is private, by Pyro5's rule: it starts with `_`, unless it is a dunder
 * name (`__x__`, longer than 4 characters) that is not one of Python's special ones.
 *
 * @param name the member name
 * @returns true when remote callers may never use it
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isPrivateAttribute } from "./_expose.ts";
 * assert(isPrivateAttribute("_secret") && !isPrivateAttribute("__dunder__"));
 * assert(isPrivateAttribute("__init__") && !isPrivateAttribute("echo"));
 * ```
 */
export function isPrivateAttribute(name: string): boolean {
  if (PRIVATE_DUNDERS.has(name)) return true;
  if (!name.startsWith("_")) return false;
  return !(name.length > 4 && name.startsWith("__") && name.endsWith("__"));
}

function checkName(name: string | symbol | undefined, isPrivate: boolean, isStatic: boolean): void {
  if (typeof name !== "string" || isPrivate || isPrivateAttribute(name)) {
    throw new TypeError("Exposing private names (starting with _) is not allowed");
  }
  if (isStatic) throw new TypeError(`Cannot expose static member: ${name}`);
}

function mark(fn: unknown, symbol: symbol): void {
  if (typeof fn === "function") (fn as unknown as Record<symbol, boolean>)[symbol] = true;
}

/** Options of {@linkcode expose} on a method: how keyword arguments bind to its parameters. */
export type ExposeOptions = ParamsOptions;

/**
 * A decorator for a method, in either flavour: standard (TC39) or TypeScript's
 * `experimentalDecorators`.
 */
export interface MethodDecorator {
  /** The standard (TC39) form. */
  (value: (...args: never[]) => unknown, context: ClassMethodDecoratorContext): void;
  /** The `experimentalDecorators` form. */
  (target: object, key: string | symbol, descriptor: PropertyDescriptor): void;
}

/** A decorator for a class, in either flavour (standard or `experimentalDecorators`). */
export interface ClassDecorator {
  /** The standard (TC39) form. */
  (value: abstract new (...args: never[]) => unknown, context: ClassDecoratorContext): void;
  /** The `experimentalDecorators` form. */
  (target: abstract new (...args: never[]) => unknown): void;
}

/** The member a decorator was applied to, whichever decorator flavour called it. */
interface Decorated {
  kind: DecoratorContext["kind"];
  name: string | symbol | undefined;
  isPrivate: boolean;
  isStatic: boolean;
  /** The class (for `class`), the method, or the accessor pair. */
  value: unknown;
}

/**
 * Works out what a decorator was applied to from how it was called: `(value, context)` for
 * standard decorators, `(class)` or `(prototype, key, descriptor)` for TypeScript's
 * `experimentalDecorators`.
 */
function decorated(name: string, args: unknown[]): Decorated {
  const [first, second, third] = args;
  if (args.length === 2 && typeof second === "object" && second !== null && "kind" in second) {
    const context = second as DecoratorContext;
    return {
      kind: context.kind,
      name: context.name,
      isPrivate: "private" in context && context.private,
      isStatic: "static" in context && context.static,
      value: first,
    };
  }
  if (args.length === 1 && typeof first === "function") {
    return { kind: "class", name: first.name, isPrivate: false, isStatic: false, value: first };
  }
  if (
    args.length === 3 && (typeof first === "object" || typeof first === "function") &&
    first !== null && (typeof second === "string" || typeof second === "symbol")
  ) {
    const isStatic = typeof first === "function";
    const descriptor = third as PropertyDescriptor | undefined;
    if (descriptor === undefined) {
      return { kind: "field", name: second, isPrivate: false, isStatic, value: undefined };
    }
    if (typeof descriptor.value === "function") {
      return { kind: "method", name: second, isPrivate: false, isStatic, value: descriptor.value };
    }
    if (descriptor.get || descriptor.set) {
      return { kind: "accessor", name: second, isPrivate: false, isStatic, value: descriptor };
    }
  }
  throw new TypeError(`${name} cannot decorate this (unknown decorator call)`);
}

/**
 * Exposes members for remote calls, as Pyro5's `@expose`. A decorator for:
 * - a class: every public method, getter, setter and `accessor` declared in it;
 * - a method; a getter or setter (a remote attribute); an `accessor` field (a remote attribute);
 * - a field holding a function (exposed as a method of each instance; standard decorators only).
 *
 * It works as a standard (TC39) decorator and under TypeScript's `experimentalDecorators`.
 * On a method, `@expose({ params, kwargs })` also says how a Python caller's keyword arguments
 * bind to the parameters (see {@linkcode ExposeOptions}); without it the names are read from
 * the method's source.
 *
 * Names starting with `_` (except dunder names like `__len__`), `#private` and static members
 * cannot be exposed.
 *
 * @param args the decorated class or member and its context (or key and descriptor); or the
 * options, giving back a method decorator
 * @returns nothing, the field initializer for a field, or a decorator for the options form
 * @throws {TypeError} for private or static members, or a field that does not hold a function
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { expose, getExposedMembers } from "./_expose.ts";
 * class Thermostat {
 *   #celsius = 20;
 *   @expose
 *   get celsius(): number {
 *     return this.#celsius;
 *   }
 *   @expose
 *   warmer(): void {
 *     this.#celsius++;
 *   }
 *   @expose({ params: ["celsius"] })
 *   setTarget(c: number): void {
 *     this.#celsius = c;
 *   }
 *   notExposed(): void {}
 * }
 * const meta = getExposedMembers(new Thermostat());
 * assert(meta.methods.has("warmer") && meta.attrs.has("celsius"));
 * assert(!meta.methods.has("notExposed"));
 * ```
 */
export function expose(options: ExposeOptions): MethodDecorator;
/**
 * The standard (TC39) decorator form.
 *
 * @param value the decorated class or member
 * @param context the decorator context
 * @returns nothing, or the field initializer for a field
 */
// deno-lint-ignore no-explicit-any
export function expose(value: any, context: DecoratorContext): any;
/**
 * The `experimentalDecorators` form for a class.
 *
 * @param target the class
 */
export function expose(target: abstract new (...args: never[]) => unknown): void;
/**
 * The `experimentalDecorators` form for a member.
 *
 * @param target the prototype
 * @param key the member name
 * @param descriptor the member's descriptor
 */
export function expose(target: object, key: string | symbol, descriptor?: PropertyDescriptor): void;
// deno-lint-ignore no-explicit-any
export function expose(...args: any[]): any {
  const [first] = args;
  if (
    args.length === 1 && typeof first === "object" && first !== null && !Array.isArray(first)
  ) {
    const options = first as ExposeOptions;
    declareParams(function check() {}, options); // refuses bad options now, not at first use
    return (...inner: unknown[]) => {
      const target = decorated("@expose", inner);
      if (target.kind !== "method") {
        throw new TypeError("@expose with options can only decorate a method");
      }
      checkName(target.name, target.isPrivate, target.isStatic);
      mark(target.value, EXPOSED);
      declareParams(target.value, options);
    };
  }
  const target = decorated("@expose", args);
  switch (target.kind) {
    case "class": {
      const proto = (target.value as { prototype: object }).prototype;
      for (const name of Object.getOwnPropertyNames(proto)) {
        if (name === "constructor" || isPrivateAttribute(name)) continue;
        const desc = Object.getOwnPropertyDescriptor(proto, name)!;
        mark(desc.value, EXPOSED);
        mark(desc.get, EXPOSED);
        mark(desc.set, EXPOSED);
      }
      return;
    }
    case "method":
    case "getter":
    case "setter":
      checkName(target.name, target.isPrivate, target.isStatic);
      mark(target.value, EXPOSED);
      return;
    case "accessor": {
      checkName(target.name, target.isPrivate, target.isStatic);
      const pair = target.value as { get?: unknown; set?: unknown };
      mark(pair.get, EXPOSED);
      mark(pair.set, EXPOSED);
      return;
    }
    case "field": {
      checkName(target.name, target.isPrivate, target.isStatic);
      const name = String(target.name);
      if (args.length === 3) {
        throw new TypeError(
          `@expose on field ${name} needs standard decorators; use a method or an accessor`,
        );
      }
      return (initial: unknown) => {
        if (typeof initial !== "function") {
          throw new TypeError(
            `@expose on field ${name} needs a function value; use an accessor for an attribute`,
          );
        }
        mark(initial, EXPOSED);
        return initial;
      };
    }
  }
}

/**
 * Marks a method as oneway (Pyro5's `@oneway`): callers do not wait for it, and the daemon runs
 * it detached from later calls of the same connection. Implies {@linkcode expose}. Works as a
 * standard decorator and under `experimentalDecorators`.
 *
 * @param args the method and its context (or prototype, key and descriptor)
 * @throws {TypeError} when used on something other than a public method
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { getExposedMembers, oneway } from "./_expose.ts";
 * class Logger {
 *   @oneway
 *   log(_line: string): void {}
 * }
 * assert(getExposedMembers(new Logger()).oneway.has("log"));
 * ```
 */
export const oneway: MethodDecorator = (...args: unknown[]): void => {
  const target = decorated("@oneway", args);
  if (target.kind !== "method") throw new TypeError("@oneway can only decorate a method");
  checkName(target.name, target.isPrivate, target.isStatic);
  mark(target.value, EXPOSED);
  mark(target.value, ONEWAY);
};

/**
 * Marks a method as a callback (Pyro5's `@callback`): when it throws, the error goes back to the
 * caller as usual and is also reported on this side (the daemon's `onError`), and the daemon
 * closes that connection, as Pyro5 does. Does not expose the method by itself. Works as a
 * standard decorator and under `experimentalDecorators`.
 *
 * @param args the method and its context (or prototype, key and descriptor)
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { callback, expose, isCallback } from "./_expose.ts";
 * class Listener {
 *   @expose
 *   @callback
 *   done(): void {}
 * }
 * assert(isCallback(Listener.prototype.done));
 * ```
 */
export const callback: MethodDecorator = (...args: unknown[]): void => {
  const target = decorated("@callback", args);
  if (target.kind !== "method") throw new TypeError("@callback can only decorate a method");
  mark(target.value, CALLBACK);
};

/**
 * Whether a function carries the {@linkcode callback} mark.
 *
 * @param fn a method
 * @returns true for a callback
 */
export function isCallback(fn: unknown): boolean {
  return typeof fn === "function" && (fn as Marked)[CALLBACK] === true;
}

/** How a daemon makes instances of a registered class (Pyro5's instance modes). */
export type InstanceMode = "single" | "session" | "percall";

/** Options of the {@linkcode behavior} decorator. */
export interface BehaviorOptions {
  /**
   * `session`: one instance per client connection; `single`: one per daemon; `percall`: a new
   * one for every call.
   * @default {"session"}
   */
  instanceMode?: InstanceMode;
  /**
   * Makes an instance; called with the class. By default `new cls()`.
   * @default {undefined}
   */
  instanceCreator?: (cls: new () => object) => object;
}

/** The instancing of a registered class. */
export interface Instancing {
  /** The instance mode. */
  instanceMode: InstanceMode;
  /** The instance creator, if any. */
  instanceCreator?: (cls: new () => object) => object;
}

/**
 * Sets how a daemon instantiates a registered class (Pyro5's `@behavior`).
 *
 * @param options instance mode and creator
 * @returns the class decorator
 * @throws {RangeError} for an unknown instance mode
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { behavior, expose, getInstancing } from "./_expose.ts";
 * @behavior({ instanceMode: "percall" })
 * @expose
 * class Worker {
 *   work(): number {
 *     return 1;
 *   }
 * }
 * assert(getInstancing(Worker).instanceMode === "percall");
 * ```
 */
export function behavior(options: BehaviorOptions = {}): ClassDecorator {
  const instanceMode = options.instanceMode ?? "session";
  if (!["single", "session", "percall"].includes(instanceMode)) {
    throw new RangeError(`Invalid instance mode: ${instanceMode}`);
  }
  if (options.instanceCreator !== undefined && typeof options.instanceCreator !== "function") {
    throw new TypeError("instanceCreator must be a function");
  }
  const instancing: Instancing = { instanceMode, instanceCreator: options.instanceCreator };
  return (...args: unknown[]): void => {
    const target = decorated("@behavior", args);
    if (target.kind !== "class") throw new TypeError("@behavior can only decorate a class");
    Object.defineProperty(target.value, INSTANCING, { value: instancing, configurable: true });
  };
}

/**
 * The instancing of a class: what {@linkcode behavior} set, else `session` mode.
 *
 * @param cls the class
 * @returns its instancing
 */
export function getInstancing(cls: object): Instancing {
  return (cls as { [INSTANCING]?: Instancing })[INSTANCING] ?? { instanceMode: "session" };
}

/** What {@linkcode exposeObject} exposes. */
export interface ExposeObjectOptions {
  /**
   * Names of the methods to expose.
   * @default {every public function-valued property}
   */
  methods?: readonly string[];
  /**
   * Names of oneway methods (exposed too).
   * @default {[]}
   */
  oneway?: readonly string[];
  /**
   * Names of remote attributes: accessors, or data properties read and written directly.
   * @default {every public getter/setter property}
   */
  attributes?: readonly string[];
  /**
   * Declared parameter names per method, for binding keyword arguments (as `@expose({ params })`
   * does): `{ add: ["a", "b?"] }`. Methods not listed have their names read from their source.
   * @default {{}}
   */
  params?: Readonly<Record<string, readonly string[]>>;
  /**
   * Methods whose last parameter receives the unmatched keyword arguments as one object
   * (Python's `**kwargs`), as `@expose({ kwargs: true })` does.
   * @default {[]}
   */
  kwargs?: readonly string[];
}

/**
 * Exposes members of an object without decorators, e.g. a plain object literal. Without lists,
 * every public function-valued property is a method and every public getter/setter an attribute
 * (data properties are exposed only when listed in `attributes`).
 *
 * @param target the object to register later
 * @param options which methods, oneway methods and attributes; declared parameters
 * @returns the same object
 * @throws {TypeError} for a private name in a list, or parameters declared for a non-method
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { exposeObject, getExposedMembers } from "./_expose.ts";
 * const calc = exposeObject({ add: (a: number, b: number) => a + b, total: 0 }, {
 *   attributes: ["total"],
 * });
 * const meta = getExposedMembers(calc);
 * assert(meta.methods.has("add") && meta.attrs.has("total"));
 * ```
 */
export function exposeObject<T extends object>(target: T, options: ExposeObjectOptions = {}): T {
  for (const list of [options.methods, options.oneway, options.attributes]) {
    for (const name of list ?? []) {
      if (isPrivateAttribute(name)) {
        throw new TypeError(`Exposing private names (starting with _) is not allowed: ${name}`);
      }
    }
  }
  const declared = new Set([...Object.keys(options.params ?? {}), ...(options.kwargs ?? [])]);
  for (const name of declared) {
    const method = (target as Record<string, unknown>)[name];
    if (typeof method !== "function") {
      throw new TypeError(`Cannot declare the parameters of ${name}: not a method`);
    }
    declareParams(method, {
      params: Object.hasOwn(options.params ?? {}, name) ? options.params![name] : undefined,
      kwargs: options.kwargs?.includes(name) ?? false,
    });
  }
  Object.defineProperty(target, EXPOSURE, {
    value: Object.freeze({ ...options }),
    configurable: true,
  });
  return target;
}

/** Pyro5's object metadata: exposed method names, oneway method names, attribute names. */
export interface ExposedMembers {
  /** Exposed method names. */
  methods: Set<string>;
  /** Oneway method names (a subset of `methods`). */
  oneway: Set<string>;
  /** Remote attribute names. */
  attrs: Set<string>;
}

/** Metadata plus how each attribute may be used; what a daemon keeps per registered object. */
export interface ExposedInfo extends ExposedMembers {
  /** Attributes that can be read. */
  readable: Set<string>;
  /** Attributes that can be written. */
  writable: Set<string>;
}

function findDescriptor(obj: object, name: string): PropertyDescriptor | undefined {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o)) {
    const desc = Object.getOwnPropertyDescriptor(o, name);
    if (desc) return desc;
  }
  return undefined;
}

/**
 * Works out what an object exposes, walking its own properties and its prototype chain (not
 * `Object.prototype`): decorated members, or what {@linkcode exposeObject} said. A class (for
 * instance-mode registration) is read through its prototype.
 *
 * @param target an object or a class
 * @returns the exposed methods, oneway methods and attributes, with attribute access modes
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { expose, getExposedMembers } from "./_expose.ts";
 * @expose
 * class Echo {
 *   echo(x: unknown): unknown {
 *     return x;
 *   }
 *   _hidden(): void {}
 * }
 * assert([...getExposedMembers(Echo).methods].join() === "echo");
 * ```
 */
export function getExposedMembers(target: object): ExposedInfo {
  const start = typeof target === "function" && "prototype" in target
    ? (target as { prototype: object }).prototype
    : target;
  const info: ExposedInfo = {
    methods: new Set(),
    oneway: new Set(),
    attrs: new Set(),
    readable: new Set(),
    writable: new Set(),
  };
  const spec = (start as { [EXPOSURE]?: ExposeObjectOptions })[EXPOSURE];
  if (spec) {
    exposedBySpec(start, spec, info);
    return info;
  }
  for (const [name, desc] of publicMembers(start)) {
    if (desc.get || desc.set) {
      const exposed = (desc.get as Marked | undefined)?.[EXPOSED] ||
        (desc.set as Marked | undefined)?.[EXPOSED];
      if (exposed) addAttribute(info, name, desc);
    } else if (typeof desc.value === "function" && (desc.value as Marked)[EXPOSED]) {
      info.methods.add(name);
      if ((desc.value as Marked)[ONEWAY]) info.oneway.add(name);
    }
  }
  return info;
}

/**
 * The public members along an object's prototype chain (not `Object.prototype`, not
 * `constructor`, no `_private` names), nearest definition first, each name once.
 */
function* publicMembers(obj: object): Generator<[string, PropertyDescriptor]> {
  const seen = new Set<string>();
  for (
    let o: object | null = obj;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (seen.has(name)) continue;
      seen.add(name);
      if (name === "constructor" || isPrivateAttribute(name)) continue;
      yield [name, Object.getOwnPropertyDescriptor(o, name)!];
    }
  }
}

function addAttribute(info: ExposedInfo, name: string, desc: PropertyDescriptor): void {
  info.attrs.add(name);
  if (desc.get || "value" in desc) info.readable.add(name);
  if (desc.set || desc.writable) info.writable.add(name);
}

function exposedBySpec(obj: object, spec: ExposeObjectOptions, info: ExposedInfo): void {
  const listed = spec.methods ? new Set(spec.methods) : null;
  const attributes = spec.attributes ? new Set(spec.attributes) : null;
  for (const name of spec.oneway ?? []) {
    info.methods.add(name);
    info.oneway.add(name);
  }
  for (const name of listed ?? []) info.methods.add(name);
  for (const name of attributes ?? []) {
    addAttribute(info, name, findDescriptor(obj, name) ?? { value: undefined, writable: true });
  }
  if (listed && attributes) return;
  for (const [name, desc] of publicMembers(obj)) {
    if (desc.get || desc.set) {
      if (!attributes) addAttribute(info, name, desc);
    } else if (typeof desc.value === "function" && !listed) {
      info.methods.add(name);
    }
  }
}
