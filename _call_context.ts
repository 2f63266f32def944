/**
 * The context of a remote call on the daemon side (Pyro5's `current_context`): the client
 * connection it came in on, the request's header fields and annotations, the response
 * annotations. Internal: `server.ts` re-exports the public part.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MessageConnection } from "./protocol/connection.ts";
import type { Message } from "./protocol/message.ts";

/** Something a connection closes when it ends (see {@linkcode CallContext.trackResource}). */
export interface Resource {
  /** Releases the resource. */
  close(): unknown;
}

/**
 * One client connection of a daemon, as seen by handshake validators, call contexts and the
 * disconnect hook. Holds the connection's session instances (instance mode `session`).
 */
export class ClientConnection {
  /** The client's address. */
  readonly remoteAddr: Deno.Addr;
  /** Instances of registered classes for this connection (instance mode `session`). */
  readonly pyroInstances: Map<object, object> = new Map();
  #connection: MessageConnection;
  #resources = new Set<Resource>();

  /**
   * Describes a client connection (the daemon makes these).
   *
   * @param remoteAddr the client's address
   * @param connection the message connection
   */
  constructor(remoteAddr: Deno.Addr, connection: MessageConnection) {
    this.remoteAddr = remoteAddr;
    this.#connection = connection;
  }

  /** The message connection to the client. */
  get connection(): MessageConnection {
    return this.#connection;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#connection.closed;
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

  /** Closes the connection, drops the session instances and closes tracked resources. */
  close(): void {
    this.#connection.close();
    this.pyroInstances.clear();
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

/**
 * What a remote method can learn about the call it is running in (Pyro5's
 * `current_context`), through {@linkcode currentContext}.
 */
export class CallContext {
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
  /** The request's 16-byte correlation id, or null. */
  readonly correlationId: Uint8Array | null;
  #responseAnnotations: Map<string, Uint8Array> | null = null;

  /**
   * Makes the context of one request (the daemon makes these).
   *
   * @param client the client connection
   * @param message the request
   */
  constructor(client: ClientConnection, message: Message) {
    this.client = client;
    this.seq = message.seq;
    this.msgFlags = message.flags;
    this.serializerId = message.serializerId;
    this.annotations = message.annotations;
    this.correlationId = message.correlationId;
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

type Method = (...args: unknown[]) => unknown;

function invoke(method: Method, target: object, args: unknown[]): unknown {
  return method.apply(target, args);
}

/**
 * Runs a method on its target inside a call context, so that {@linkcode currentContext} sees
 * it (also after awaits in the method).
 *
 * @param context the call context
 * @param method the method
 * @param target its `this`
 * @param args its arguments
 * @returns what the method returns
 */
export function runInContext(
  context: CallContext,
  method: Method,
  target: object,
  args: unknown[],
): unknown {
  return contextStorage.run(context, invoke, method, target, args);
}

/**
 * The context of the remote call being run, or undefined outside one (Pyro5's
 * `current_context`). Works in sync and async methods, and in oneway calls.
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
  return contextStorage.getStore();
}
