/**
 * Types of typed proxies: {@linkcode Remote}`<Api>` describes what a proxy for an object with
 * the TypeScript interface `Api` looks like, so a shared interface checks remote calls at
 * compile time. Internal: `client.ts` exports the types and `createProxy`.
 *
 * @module
 */
import type { PyroProxy } from "./client.ts";

/** The brand of {@linkcode Oneway} methods (a type only; there is no such value at run time). */
export declare const ONEWAY_MARK: unique symbol;

/**
 * Marks a method of an interface as oneway: its remote call resolves to `void` once sent. A
 * method whose declared result is `void` resolves to `void` as well, so this is only needed
 * for oneway methods that do declare a result.
 *
 * @example
 * ```ts
 * import type { Oneway, Remote } from "./client.ts";
 * interface Logger {
 *   log: Oneway<(line: string) => boolean>;
 * }
 * type Log = Remote<Logger>["log"]; // (line: string) => Promise<void>
 * ```
 */
// deno-lint-ignore no-explicit-any
export type Oneway<F extends (...args: any[]) => unknown> = F & {
  readonly [ONEWAY_MARK]: true;
};

/** What a remote call's promise resolves to, for a method declared to return `R`. */
export type RemoteResult<R> = Awaited<R> extends void ? void
  : Awaited<R> extends Iterator<infer I> | AsyncIterator<infer I> ? AsyncIterableIterator<I>
  // deno-lint-ignore no-explicit-any
  : Awaited<R> extends (...args: any[]) => unknown ? RemoteFunction<Awaited<R>>
  : Awaited<R>;

/** A remote function (a callable proxy, e.g. a callback): calling it returns a promise. */
export type RemoteFunction<F> = F extends (...args: infer A) => infer R
  ? ((...args: A) => Promise<RemoteResult<R>>) & RemoteMembers
  : never;

/** The `_pyro...` members every proxy has (its index signature left out). */
export type RemoteMembers = {
  [K in keyof PyroProxy as string extends K ? never : number extends K ? never : K]: PyroProxy[K];
};

/** The remote form of a method type `T`: the same parameters, a promise of the result. */
export type RemoteMethod<T> = T extends { readonly [ONEWAY_MARK]: true }
  ? T extends (...args: infer A) => unknown ? (...args: A) => Promise<void> : never
  : T extends (...args: infer A) => infer R ? (...args: A) => Promise<RemoteResult<R>>
  : never;

/** The string member names of an interface `T` (`__call__` aside). */
export type MemberNames<T> = Exclude<keyof T, symbol | number | "__call__">;

/** The names of the methods of an interface `T` (`__call__` aside). */
export type MethodNames<T> = {
  // deno-lint-ignore no-explicit-any
  [K in MemberNames<T>]: T[K] extends (...args: any[]) => unknown ? K : never;
}[MemberNames<T>];

/** The names of the attributes (non-function members) of an interface `T`. */
export type AttributeNames<T> = Exclude<MemberNames<T>, MethodNames<T>>;

/**
 * The type of a proxy for a remote object with interface `T`: each method returns a promise of
 * its result (`void` for oneway methods and methods declared `void`; an async iterator for
 * methods returning iterators; a callable remote function for methods returning functions);
 * each attribute reads as a promise of its value and is written with a typed
 * `_pyroSetAttr(name, value)`; an interface with `__call__` makes the proxy callable. Names
 * not in `T` do not type-check. Make one with `createProxy<T>(uri)`.
 *
 * @example
 * ```ts
 * import type { Remote } from "./client.ts";
 * interface Calculator {
 *   add(a: number, b: number): number;
 *   readonly total: number;
 * }
 * type Add = Remote<Calculator>["add"]; // (a: number, b: number) => Promise<number>
 * type Total = Remote<Calculator>["total"]; // Promise<number>
 * ```
 */
export type Remote<T> =
  & { readonly [K in MethodNames<T>]: RemoteMethod<T[K]> }
  & { readonly [K in AttributeNames<T>]: Promise<Awaited<T[K]>> }
  & Omit<RemoteMembers, "_pyroSetAttr">
  & {
    /** Writes a remote attribute of the interface. */
    _pyroSetAttr<K extends AttributeNames<T>>(name: K, value: T[K]): Promise<void>;
  }
  & (T extends { __call__: infer F } ? RemoteMethod<F> : unknown);
