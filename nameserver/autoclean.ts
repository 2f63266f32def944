/**
 * Pyro5's name server auto-clean (`NS_AUTOCLEAN`): every `interval` seconds, try to connect to
 * each registered PYRO URI; a registration whose server cannot be reached for
 * `maxUnreachable` seconds (20, Pyro5's `max_unreachable_time`) is removed. The name server's
 * and daemon's own names are never touched. Off unless asked for, as in Pyro5, and the interval
 * may not be below 3 seconds (Pyro5's `min_autoclean_value`).
 *
 * Unlike Pyro5, a registration on a Unix domain socket is checked by connecting to the socket
 * (Pyro5 cannot check it and removes it), and registrations of PYRONAME/PYROMETA URIs are left
 * alone.
 *
 * Needs `--allow-net` (and `--allow-read`/`--allow-write` for Unix sockets).
 *
 * @module
 */
import { PyroUri } from "../uri.ts";
import type { NameServer } from "./name_server.ts";
import { NAMESERVER_NAME } from "./name_server.ts";
import { connectLink } from "../protocol/transport.ts";

/** Options for an {@linkcode AutoCleaner}. */
export interface AutoCleanerOptions {
  /**
   * Seconds between clean passes (Pyro5's NS_AUTOCLEAN).
   * @default {undefined} (required)
   */
  interval: number;
  /**
   * Seconds a registration may stay unreachable before it is removed.
   * @default {20}
   */
  maxUnreachable?: number;
  /**
   * Seconds between checks whether a pass is due (Pyro5's `loop_delay`).
   * @default {2}
   */
  loopDelay?: number;
  /**
   * Seconds a connection attempt may take (Pyro5 uses COMMTIMEOUT or 5).
   * @default {5}
   */
  connectTimeout?: number;
  /**
   * Smallest interval accepted; lower it only in tests.
   * @default {3}
   */
  minInterval?: number;
  /**
   * Told about each removal.
   * @default {undefined}
   */
  onRemove?: (name: string, uri: string) => void;
}

/** Smallest NS_AUTOCLEAN Pyro5 accepts. */
export const MIN_AUTOCLEAN_INTERVAL = 3;

/**
 * Whether a daemon still listens: a connection is enough (no TLS handshake, no Pyro call), so
 * the probe needs no certificate even when the daemons speak TLS.
 */
async function reachable(uri: PyroUri, timeoutMs: number): Promise<boolean> {
  try {
    const link = await connectLink({
      host: uri.host ?? undefined,
      port: uri.port ?? undefined,
      unixSocket: uri.sockname ?? undefined,
      timeoutMs,
    });
    link.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes registrations whose servers have gone away, on a timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { AutoCleaner } from "./autoclean.ts";
 * import { NameServer } from "./name_server.ts";
 * const ns = new NameServer();
 * ns.register("gone", "PYRO:x@127.0.0.1:9"); // nothing listens on port 9
 * await using cleaner = new AutoCleaner(ns, { interval: 3, maxUnreachable: 0 });
 * const removed = await cleaner.cleanOnce();
 * assert(removed.includes("gone") && ns.count() === 0);
 * ```
 */
export class AutoCleaner implements AsyncDisposable {
  #ns: NameServer;
  #interval: number;
  #maxUnreachable: number;
  #loopDelay: number;
  #connectTimeout: number;
  #onRemove?: (name: string, uri: string) => void;
  #unreachableSince = new Map<string, number>();
  #lastCleaned = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> | undefined;
  #closed = false;

  /**
   * Creates the cleaner; {@linkcode AutoCleaner.start} starts its timer.
   *
   * @param nameserver the name server to clean
   * @param options interval and timing
   * @throws {RangeError} when the interval is below the minimum
   */
  constructor(nameserver: NameServer, options: AutoCleanerOptions) {
    const min = options.minInterval ?? MIN_AUTOCLEAN_INTERVAL;
    if (!(options.interval > 0)) throw new RangeError("NS_AUTOCLEAN must be positive");
    if (options.interval < min) {
      throw new RangeError(`NS_AUTOCLEAN cannot be smaller than ${min}`);
    }
    this.#ns = nameserver;
    this.#interval = options.interval;
    this.#maxUnreachable = options.maxUnreachable ?? 20;
    this.#loopDelay = options.loopDelay ?? 2;
    this.#connectTimeout = options.connectTimeout ?? 5;
    this.#onRemove = options.onRemove;
  }

  /** Starts the periodic passes. */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#schedule();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      if (Date.now() - this.#lastCleaned < this.#interval * 1000) return this.#schedule();
      this.#running = this.cleanOnce().catch(() => []).finally(() => {
        this.#running = undefined;
        if (!this.#closed) this.#schedule();
      });
    }, this.#loopDelay * 1000);
  }

  /**
   * Runs one pass now: checks every registration and removes those unreachable for too long.
   *
   * @returns the names removed in this pass
   */
  async cleanOnce(): Promise<string[]> {
    const removed: string[] = [];
    const entries = Object.entries(this.#ns.list() as Record<string, string>);
    const timeoutMs = this.#connectTimeout * 1000;
    for (const [name, text] of entries) {
      if (name === NAMESERVER_NAME || name === "Pyro.Daemon" || this.#closed) continue;
      let uri: PyroUri;
      try {
        uri = new PyroUri(text);
      } catch {
        continue;
      }
      if (uri.protocol !== "PYRO") continue;
      if (await reachable(uri, timeoutMs)) {
        this.#unreachableSince.delete(name);
        continue;
      }
      const now = Date.now();
      const since = this.#unreachableSince.get(name) ?? now;
      this.#unreachableSince.set(name, since);
      if (now - since >= this.#maxUnreachable * 1000) {
        this.#unreachableSince.delete(name);
        // Only remove it if it still points where we checked.
        const current = this.#ns.list(name) as Record<string, string>;
        if (current[name] === text && this.#ns.remove(name) > 0) {
          removed.push(name);
          this.#onRemove?.(name, text);
        }
      }
    }
    const listed = new Set(entries.map(([name]) => name));
    for (const name of this.#unreachableSince.keys()) {
      if (!listed.has(name)) this.#unreachableSince.delete(name);
    }
    this.#lastCleaned = Date.now();
    return removed;
  }

  /** Stops the timer and waits for a running pass; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Same as {@linkcode AutoCleaner.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
