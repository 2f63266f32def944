/**
 * The daemon's open item streams (Pyro5's `streaming_responses`): iterators whose items clients
 * fetch one by one through `Pyro.Daemon.get_next_stream_item`, with Pyro5's lifetime and linger
 * rules. Internal to `server.ts`.
 *
 * @module
 */
import { type ClientConnection, isThenable } from "./_call_context.ts";
import { PyroError, RemoteError } from "./errors.ts";

/** A sync or async iterator a remote method returned. */
export type ItemIterator = Iterator<unknown> | AsyncIterator<unknown>;

/** Options of {@linkcode ItemStreams}; times in seconds, as Pyro5's config items. */
export interface ItemStreamsOptions {
  /** ITER_STREAM_LIFETIME: a stream older than this ends; 0 for no limit. */
  lifetime: number;
  /** ITER_STREAM_LINGER: a stream outlives its disconnected client this long; 0 ends it. */
  linger: number;
  /** Seconds between housekeeping passes. */
  interval: number;
}

interface Entry {
  client: ClientConnection | null;
  created: number;
  lingerSince: number;
  iterator: ItemIterator;
}

/**
 * Whether a method's result is streamed: an iterator (sync or async) such as a generator, not
 * an iterable such as an array.
 *
 * @param value a result
 * @returns true for iterators
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { isItemIterator } from "./_item_streams.ts";
 * assert(isItemIterator([1].values()) && !isItemIterator([1]));
 * ```
 */
export function isItemIterator(value: unknown): value is ItemIterator {
  return value !== null && typeof value === "object" &&
    typeof (value as { next?: unknown }).next === "function" &&
    (Symbol.iterator in value || Symbol.asyncIterator in value);
}

/**
 * The open item streams of one daemon. A housekeeping timer (unref'd) runs only while streams
 * exist. Ending a stream calls its iterator's `return()`, so generators run their `finally`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ItemStreams } from "./_item_streams.ts";
 * const streams = new ItemStreams({ lifetime: 0, linger: 30, interval: 2 });
 * const id = streams.register([1, 2].values(), null);
 * assert(streams.next(id, null) === 1);
 * const open = streams.size;
 * streams.closeAll();
 * assert(open === 1 && streams.size === 0);
 * ```
 */
export class ItemStreams {
  #entries = new Map<string, Entry>();
  #options: ItemStreamsOptions;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Makes an empty registry.
   *
   * @param options lifetime, linger and housekeeping interval
   */
  constructor(options: ItemStreamsOptions) {
    this.#options = options;
  }

  /** How many streams are open. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Opens a stream.
   *
   * @param iterator the iterator
   * @param client the connection it belongs to
   * @returns the stream id (a UUID, as Pyro5's)
   */
  register(iterator: ItemIterator, client: ClientConnection | null): string {
    const id = crypto.randomUUID();
    this.#entries.set(id, { client, created: Date.now(), lingerSince: 0, iterator });
    if (this.#timer === undefined) {
      const timer = setInterval(() => this.#housekeeping(), this.#options.interval * 1000);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
    return id;
  }

  /**
   * The next item of a stream; a stream that lingered is taken over by `client`.
   *
   * @param id the stream id
   * @param client the connection asking
   * @returns the item, or a promise of it for async iterators
   * @throws {PyroError} "item stream terminated" for an unknown stream
   * @throws {RemoteError} `builtins.StopIteration` at the end (the stream is then removed)
   */
  next(id: string, client: ClientConnection | null): unknown {
    const entry = this.#entries.get(id);
    if (!entry) throw new PyroError("item stream terminated");
    if (entry.client === null) {
      entry.client = client;
      entry.lingerSince = 0;
    }
    let step: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>>;
    try {
      step = entry.iterator.next();
    } catch (error) {
      this.#entries.delete(id); // an error ends the stream, as in Pyro5
      throw error;
    }
    if (!isThenable(step)) return this.#step(id, step);
    return Promise.resolve(step).then(
      (result) => this.#step(id, result),
      (error) => {
        this.#entries.delete(id);
        throw error;
      },
    );
  }

  #step(id: string, result: IteratorResult<unknown>): unknown {
    if (!result.done) return result.value;
    this.#entries.delete(id);
    throw new RemoteError("builtins.StopIteration", []);
  }

  /**
   * Ends a stream; unknown ids are ignored.
   *
   * @param id the stream id
   */
  close(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    try {
      const done = entry.iterator.return?.();
      if (isThenable(done)) Promise.resolve(done).catch(() => {});
    } catch {
      // a generator that is running cannot be closed; it ends on its own
    }
    if (this.#entries.size === 0) this.#stopTimer();
  }

  /**
   * A client connection ended: its streams linger (ITER_STREAM_LINGER > 0) or end.
   *
   * @param client the connection
   */
  clientGone(client: ClientConnection): void {
    for (const [id, entry] of [...this.#entries]) {
      if (entry.client !== client) continue;
      if (this.#options.linger > 0) {
        entry.client = null;
        entry.lingerSince = Date.now();
      } else {
        this.close(id);
      }
    }
  }

  /** Ends every stream and the housekeeping timer. */
  closeAll(): void {
    for (const id of [...this.#entries.keys()]) this.close(id);
    this.#stopTimer();
  }

  #housekeeping(): void {
    const now = Date.now();
    const lifetime = this.#options.lifetime * 1000;
    const linger = this.#options.linger * 1000;
    for (const [id, entry] of [...this.#entries]) {
      if (lifetime > 0 && now - entry.created > lifetime) this.close(id);
      else if (linger > 0 && entry.lingerSince && now - entry.lingerSince > linger) this.close(id);
    }
    if (this.#entries.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
