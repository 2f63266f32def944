/**
 * The daemon's open item streams (Pyro5's `streaming_responses`): iterators whose items clients
 * fetch one by one through `Pyro.Daemon.get_next_stream_item`, with Pyro5's lifetime and linger
 * rules, and caps on how many are open per connection and in all. Internal to `server.ts`.
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
  /**
   * ITER_STREAM_LINGER: a stream outlives its disconnected client this long; 0 ends it. The
   * deadline is set when the client goes and never moves: another connection may take the
   * stream over meanwhile (as in Pyro5), but it still ends then.
   */
  linger: number;
  /** Most streams open at once per connection; one more is refused. */
  maxPerClient: number;
  /** Most streams open at once in all, lingering ones included; one more is refused. */
  max: number;
  /** Seconds between housekeeping passes. */
  interval: number;
}

interface Entry {
  client: ClientConnection | null;
  created: number;
  /** When a lingering stream ends (ms since the epoch); 0 while it never lingered. */
  lingerDeadline: number;
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
 * const streams = new ItemStreams({ lifetime: 0, linger: 30, interval: 2, maxPerClient: 9, max: 9 });
 * const id = streams.register([1, 2].values(), null);
 * assert(streams.next(id, null) === 1);
 * const open = streams.size;
 * streams.closeAll();
 * assert(open === 1 && streams.size === 0);
 * ```
 */
export class ItemStreams {
  #entries = new Map<string, Entry>();
  /** How many streams each connection holds. */
  #perClient = new Map<ClientConnection, number>();
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
   * @throws {PyroError} when the connection or the daemon has as many streams open as allowed
   * (the iterator is then closed)
   */
  register(iterator: ItemIterator, client: ClientConnection | null): string {
    const { max, maxPerClient } = this.#options;
    let refusal: string | null = null;
    if (client !== null && (this.#perClient.get(client) ?? 0) >= maxPerClient) {
      refusal = `too many item streams open on this connection (at most ${maxPerClient}: ` +
        "limits.maxStreamsPerConnection); close or finish some first";
    } else if (this.#entries.size >= max) {
      refusal = `too many item streams open in this daemon (at most ${max}: ` +
        "limits.maxStreams); close or finish some first";
    }
    if (refusal !== null) {
      closeIterator(iterator);
      throw new PyroError(refusal);
    }
    const id = crypto.randomUUID();
    this.#entries.set(id, { client, created: Date.now(), lingerDeadline: 0, iterator });
    this.#count(client, 1);
    if (this.#timer === undefined) {
      const timer = setInterval(() => this.#housekeeping(), this.#options.interval * 1000);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
    return id;
  }

  /**
   * The next item of a stream; a lingering stream is taken over by `client` (its linger
   * deadline stays).
   *
   * @param id the stream id
   * @param client the connection asking
   * @returns the item, or a promise of it for async iterators
   * @throws {PyroError} "item stream terminated" for an unknown or expired stream
   * @throws {RemoteError} `builtins.StopIteration` at the end (the stream is then removed)
   */
  next(id: string, client: ClientConnection | null): unknown {
    const entry = this.#entries.get(id);
    if (!entry) throw new PyroError("item stream terminated");
    if (this.#expired(entry, Date.now())) {
      this.close(id);
      throw new PyroError("item stream terminated");
    }
    if (entry.client === null && client !== null) {
      entry.client = client;
      this.#count(client, 1);
    }
    let step: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>>;
    try {
      step = entry.iterator.next();
    } catch (error) {
      this.#remove(id); // an error ends the stream, as in Pyro5
      throw error;
    }
    if (!isThenable(step)) return this.#step(id, step);
    return Promise.resolve(step).then(
      (result) => this.#step(id, result),
      (error) => {
        this.#remove(id);
        throw error;
      },
    );
  }

  #step(id: string, result: IteratorResult<unknown>): unknown {
    if (!result.done) return result.value;
    this.#remove(id);
    throw new RemoteError("builtins.StopIteration", []);
  }

  /** Forgets a stream (without closing its iterator); returns it if it was open. */
  #remove(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    this.#count(entry.client, -1);
    return entry;
  }

  #count(client: ClientConnection | null, delta: number): void {
    if (client === null) return;
    const count = (this.#perClient.get(client) ?? 0) + delta;
    if (count > 0) this.#perClient.set(client, count);
    else this.#perClient.delete(client);
  }

  #expired(entry: Entry, now: number): boolean {
    const lifetime = this.#options.lifetime * 1000;
    if (lifetime > 0 && now - entry.created > lifetime) return true;
    return entry.lingerDeadline > 0 && now > entry.lingerDeadline;
  }

  /**
   * Ends a stream; unknown ids are ignored.
   *
   * @param id the stream id
   */
  close(id: string): void {
    const entry = this.#remove(id);
    if (!entry) return;
    closeIterator(entry.iterator);
    if (this.#entries.size === 0) this.#stopTimer();
  }

  /**
   * A client connection ended: its streams linger (ITER_STREAM_LINGER > 0) or end.
   *
   * @param client the connection
   */
  clientGone(client: ClientConnection): void {
    if (!this.#perClient.has(client)) return;
    const now = Date.now();
    for (const [id, entry] of [...this.#entries]) {
      if (entry.client !== client) continue;
      if (this.#options.linger > 0) {
        entry.client = null;
        this.#count(client, -1);
        // Set once: taking a stream over and dropping it again never extends its life.
        if (entry.lingerDeadline === 0) entry.lingerDeadline = now + this.#options.linger * 1000;
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
    for (const [id, entry] of [...this.#entries]) {
      if (this.#expired(entry, now)) this.close(id);
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

/** Ends an iterator (generators run their `finally`); errors are ignored. */
function closeIterator(iterator: ItemIterator): void {
  try {
    const done = iterator.return?.();
    if (isThenable(done)) Promise.resolve(done).catch(() => {});
  } catch {
    // a generator that is running cannot be closed; it ends on its own
  }
}
