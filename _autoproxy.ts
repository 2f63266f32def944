/**
 * Auto proxies (Pyro5's `_pyroDaemon` attribute and `_pyro_obj_to_auto_proxy`): an object
 * registered with a daemon carries a mark, and wherever it is serialized — a daemon's result,
 * a proxy's argument, inside a list — it travels as a `Pyro5.client.Proxy` for that daemon.
 * The mark lives on the object itself (a non-enumerable symbol property), not in any global
 * table. Internal to `server.ts` and `client.ts`.
 *
 * @module
 */
import type { PyStringDict } from "./serializers/mod.ts";

const REGISTRATION: unique symbol = Symbol.for("pyro-deno.registration");

/** What a registered object carries: its daemon and how to describe it as a proxy. */
export interface RegistrationMark {
  /** The daemon it is registered with. */
  readonly owner: object;
  /** Pyro5's proxy class dict for the object, with the daemon's current URI and metadata. */
  proxyDict(): PyStringDict;
}

type Marked = { [REGISTRATION]?: RegistrationMark };

/**
 * Marks a registered object. Frozen objects cannot carry the mark: they still travel as proxies
 * out of their own daemon, only not through other serializers.
 *
 * @param target the registered object or class
 * @param mark its daemon and proxy description
 */
export function markRegistered(target: object, mark: RegistrationMark): void {
  try {
    Object.defineProperty(target, REGISTRATION, {
      value: mark,
      configurable: true,
      enumerable: false,
      writable: true,
    });
  } catch {
    // frozen or sealed: no mark
  }
}

/**
 * Removes the mark a daemon put on an object (a mark of another daemon stays).
 *
 * @param target the object or class
 * @param owner the daemon that unregisters it
 */
export function unmarkRegistered(target: object, owner: object): void {
  const own = Object.getOwnPropertyDescriptor(target, REGISTRATION)?.value as
    | RegistrationMark
    | undefined;
  if (own?.owner === owner) {
    try {
      delete (target as Marked)[REGISTRATION];
    } catch {
      // cannot happen for a configurable property; ignore anyway
    }
  }
}

/**
 * The registration mark of an object (its own, not one inherited through a prototype).
 *
 * @param value any object
 * @returns the mark, or undefined when the object is not registered anywhere
 */
export function registrationOf(value: object): RegistrationMark | undefined {
  if (!Object.hasOwn(value, REGISTRATION)) return undefined;
  return (value as Marked)[REGISTRATION];
}

/**
 * The proxy dict an object travels as, when it is registered with a daemon.
 *
 * @param value any object
 * @returns Pyro5's `Pyro5.client.Proxy` class dict, or undefined
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { autoProxyDict, markRegistered } from "./_autoproxy.ts";
 * const thing = {};
 * assert(autoProxyDict(thing) === undefined);
 * markRegistered(thing, { owner: {}, proxyDict: () => ({ __class__: "Pyro5.client.Proxy" }) });
 * assert(autoProxyDict(thing)?.__class__ === "Pyro5.client.Proxy");
 * ```
 */
export function autoProxyDict(value: object): PyStringDict | undefined {
  return registrationOf(value)?.proxyDict();
}
