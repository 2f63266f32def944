/**
 * The context of a remote call on the daemon side (Pyro5's `current_context`): the daemon, the
 * client connection it came in on (address, handshake data, session instances, tracked
 * resources), the request's header fields and annotations, the response annotations.
 * Internal: `server.ts` re-exports the public part.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MessageConnection } from "./protocol/connection.ts";
import type { Link, PeerCertificate } from "./protocol/transport.ts";
import type { Message } from "./protocol/message.ts";
import type { Daemon } from "./server.ts";

/** Something a connection closes when it ends (see {@linkcode CallContext.trackResource}). */
export interface Resource {
  /** Releases the resource. */
  close(): unknown;
}

/**
 * Ends an instance the daemon made (instance modes): calls its `[Symbol.asyncDispose]` or
 * `[Symbol.dispose]`, if it has one. JavaScript has no destructors, so this is where a session
 * or single instance releases what it holds. Errors are ignored, as Pyro5 ignores them.
 *
 * @param instance the instance
 */
export function disposeInstance(instance: object): void {
  const target = instance as Partial<AsyncDisposable & Disposable>;
  try {
    if (typeof target[Symbol.asyncDispose] === "function") {
      Promise.resolve(target[Symbol.asyncDispose]!()).catch(() => {});
    } else if (typeof target[Symbol.dispose] === "function") {
      target[Symbol.dispose]!();
    }
  } catch {
    // a failing dispose must not break the daemon
  }
}

/**
 * One client connection of a daemon, as seen by handshake validators, call contexts and the
 * connect and disconnect hooks. Holds the connection's session instances (instance mode
 * `session`) and its tracked resources; both end with the connection.
 */
export class ClientConnection {
  /** The client's address (Pyro5's `client_sock_addr`). */
  readonly remoteAddr: Deno.Addr;
  /** Whether the connection speaks TLS. */
  readonly secure: boolean;
  /** Instances of registered classes for this connection (instance mode `session`). */
  readonly pyroInstances: Map<object, object> = new Map();
  /** The data the client sent in its connect handshake (undefined before the handshake). */
  handshake: unknown = undefined;
  #connection: MessageConnection;
  #link: Link;
  #resources = new Set<Resource>();

  /**
   * Describes a client connection (the daemon makes these).
   *
   * @param link the client's connection
   * @param connection the message connection over it
   */
  constructor(link: Link, connection: MessageConnection) {
    this.remoteAddr = link.remoteAddr;
    this.secure = link.secure;
    this.#link = link;
    this.#connection = connection;
  }

  /**
   * The certificate the client presented (two-way TLS), or null: what Pyro5's
   * `conn.getpeercert()` gives a `validateHandshake` that checks who is calling.
   */
  get peerCertificate(): PeerCertificate | null {
    return this.#link.peerCertificate;
  }

  /** The message connection to the client. */
  get connection(): MessageConnection {
    return this.#connection;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#connection.closed;
  }

  /** The resources tracked for this connection (Pyro5's `tracked_resources`). */
  get trackedResources(): ReadonlySet<Resource> {
    return this.#resources;
  }

  /**
   * Tracks a resource: its `close()` is called when this connection ends.
   *
   * @param resource the resource
   */
  trackResource(resource: Resource): void {
    this.#resources.add(resource);
  }

  /**
   * Stops tracking a resource.
   *
   * @param resource the resource
   */
  untrackResource(resource: Resource): void {
    this.#resources.delete(resource);
  }

  /**
   * Closes the connection, ends the session instances (see {@linkcode disposeInstance}) and
   * closes the tracked resources. Idempotent.
   */
  close(): void {
    this.#connection.close();
    const instances = [...this.pyroInstances.values()];
    this.pyroInstances.clear();
    for (const instance of instances) disposeInstance(instance);
    const resources = [...this.#resources];
    this.#resources.clear();
    for (const resource of resources) {
      try {
        resource.close();
      } catch {
        // Pyro5 ignores errors while closing tracked resources too
      }
    }
  }
}

/** Bytes of randomness fetched at once for correlation ids (256 ids). */
const ID_POOL_SIZE = 4096;

/**
 * Makes random 16-byte correlation ids (version 4 UUIDs, as Pyro5's `uuid.uuid4()`) for
 * requests that bring none, cut from a pool of random bytes refilled when used up: one
 * `crypto.getRandomValues` per 256 ids instead of one per call. Each daemon owns one.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { CorrelationIds } from "./_call_context.ts";
 * const ids = new CorrelationIds();
 * const a = ids.next();
 * const b = ids.next();
 * assert(a.length === 16 && a.byteOffset !== b.byteOffset && (a[6] >> 4) === 4);
 * ```
 */
export class CorrelationIds {
  #pool: Uint8Array | null = null;
  #pos = ID_POOL_SIZE;

  /**
   * A new id: a view of the pool, whose bytes are never handed out twice (a pool is replaced,
   * never refilled, when used up).
   *
   * @returns 16 random bytes with the UUID version 4 and variant bits set
   */
  next(): Uint8Array {
    let pool = this.#pool;
    if (pool === null || this.#pos + 16 > ID_POOL_SIZE) {
      pool = this.#pool = crypto.getRandomValues(new Uint8Array(ID_POOL_SIZE));
      this.#pos = 0;
    }
    const id = pool.subarray(this.#pos, this.#pos + 16);
    this.#pos += 16;
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    return id;
  }
}

/**
 * What a remote method can learn about the call it is running in (Pyro5's
 * `current_context`), through {@linkcode currentContext}. Handshake validators see one too
 * (for the connect message).
 */
export class CallContext {
  /** The daemon running the call. */
  readonly daemon: Daemon;
  /** The client connection the call came in on. */
  readonly client: ClientConnection;
  /** The request's sequence number. */
  readonly seq: number;
  /** The request's message flags. */
  readonly msgFlags: number;
  /** The request's serializer id. */
  readonly serializerId: number;
  /** The request's annotations. */
  readonly annotations: Map<string, Uint8Array>;
  /**
   * The request's 16-byte correlation id, or a new random one when it had none (as Pyro5). The
   * reply carries it, and proxies used while handling the call send it on.
   */
  readonly correlationId: Uint8Array;
  #responseAnnotations: Map<string, Uint8Array> | null = null;

  /**
   * Makes the context of one request (the daemon makes these).
   *
   * @param daemon the daemon
   * @param client the client connection
   * @param message the request
   * @param ids makes the correlation id when the request has none
   */
  constructor(daemon: Daemon, client: ClientConnection, message: Message, ids: CorrelationIds) {
    this.daemon = daemon;
    this.client = client;
    this.seq = message.seq;
    this.msgFlags = message.flags;
    this.serializerId = message.serializerId;
    this.annotations = message.annotations;
    this.correlationId = message.correlationId ?? ids.next();
  }

  /** The client's address (Pyro5's `client_sock_addr`). */
  get clientAddr(): Deno.Addr {
    return this.client.remoteAddr;
  }

  /** Annotations to add to the response (4-character ids); created on first use. */
  get responseAnnotations(): Map<string, Uint8Array> {
    return this.#responseAnnotations ??= new Map();
  }

  /** The response annotations if any were set, else null. */
  get responseAnnotationsIfAny(): Map<string, Uint8Array> | null {
    return this.#responseAnnotations;
  }

  /**
   * Tracks a resource for the client connection: it is closed when the connection ends.
   *
   * @param resource the resource
   */
  trackResource(resource: Resource): void {
    this.client.trackResource(resource);
  }

  /**
   * Stops tracking a resource.
   *
   * @param resource the resource
   */
  untrackResource(resource: Resource): void {
    this.client.untrackResource(resource);
  }
}

const contextStorage = new AsyncLocalStorage<CallContext>();

/** The context of the synchronous method running right now, if any (see runInContext). */
let syncContext: CallContext | undefined;

// deno-lint-ignore no-explicit-any
type Method = (...args: any[]) => unknown;

/**
 * Functions that returned a plain value (not a promise) when last run in a context. A context
 * that follows a function across awaits costs every promise made meanwhile a good part of a
 * small call's time, so these run with a plain variable instead.
 */
const synchronous = new WeakSet<Method>();

function invoke(method: Method, target: unknown, args: unknown[]): unknown {
  return method.apply(target, args);
}

/**
 * Whether a value is a promise or another thenable.
 *
 * @param value any value
 * @returns true when it has a `then` method
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isThenable } from "./_call_context.ts";
 * assert(isThenable(Promise.resolve(1)) && !isThenable({ then: 1 }));
 * ```
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * Runs a function inside a call context, so that {@linkcode currentContext} sees it: while it
 * runs, and across the awaits of a function that returns a promise. A function is first run with
 * the context following its awaits (`AsyncLocalStorage`); once it has returned a plain value,
 * later runs only provide the context while it runs synchronously, which is much cheaper. Should
 * such a function return a promise after all, the code after its awaits may miss the context
 * that one time; from then on it runs as at first.
 *
 * @param context the call context
 * @param method the function
 * @param target its `this`
 * @param args its arguments
 * @returns what the function returns
 */
export function runInContext(
  context: CallContext,
  method: Method,
  target: unknown,
  args: unknown[],
): unknown {
  const outer = syncContext;
  try {
    if (!synchronous.has(method)) {
      syncContext = undefined; // the storage's context is the current one inside
      const result = contextStorage.run(context, invoke, method, target, args);
      if (!isThenable(result)) synchronous.add(method);
      return result;
    }
    syncContext = context;
    const result = method.apply(target, args);
    if (isThenable(result)) synchronous.delete(method);
    return result;
  } finally {
    syncContext = outer;
  }
}

/**
 * The context of the remote call being run, or undefined outside one (Pyro5's
 * `current_context`). Works in sync and async methods, in oneway calls, in instance creators and
 * constructors of instance-mode classes, and in handshake validators. Like Pyro5's thread-local
 * one, it belongs to the call: callbacks a synchronous method leaves behind (timers, promise
 * callbacks) do not see it.
 *
 * @returns the call context
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { currentContext } from "./server.ts";
 * assert(currentContext() === undefined);
 * ```
 */
export function currentContext(): CallContext | undefined {
  return syncContext ?? contextStorage.getStore();
}
