/**
 * {@linkcode startMessageBus}: a message bus served by its own daemon and registered in the name
 * server as `Pyro.MessageBus`, what Pyro5's example `server.py` does.
 *
 * @module
 */
import { locateNS } from "../locate.ts";
import { defaultConfig, type PyroConfig } from "../config.ts";
import { Daemon } from "../server.ts";
import type { PyroUri } from "../uri.ts";
import { MessageBus, MESSAGEBUS_NAME, type MessageBusOptions } from "./bus.ts";
import { type BusStorage, MemoryBusStorage, SqliteBusStorage } from "./storage.ts";

/** Options of {@linkcode startMessageBus}. */
export interface StartMessageBusOptions extends Omit<MessageBusOptions, "storage"> {
  /**
   * Host name or address to bind.
   * @default {config.HOST} ("localhost")
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one.
   * @default {0}
   */
  port?: number;
  /**
   * Unix domain socket path to listen on instead of TCP.
   * @default {undefined}
   */
  unixSocket?: string;
  /**
   * `"memory"`, `"sqlite:FILE"`, or a storage object.
   * @default {"memory"}
   */
  storage?: string | BusStorage;
  /**
   * Register in the name server: `true` locates it as `locateNS()` does, `{host, port}` names it,
   * `false` does not register.
   * @default {true}
   */
  nameServer?: boolean | { host?: string; port?: number };
  /**
   * Configuration for the daemon and the name server lookup.
   * @default {defaultConfig()}
   */
  config?: Readonly<PyroConfig>;
}

/**
 * Makes the storage a `-s` option names: `memory` or `sqlite:FILE`.
 *
 * @param spec the storage text
 * @returns the storage
 * @throws {RangeError} for an unknown storage type
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { openBusStorage } from "./daemon.ts";
 * import { MemoryBusStorage } from "./storage.ts";
 * assert(openBusStorage("memory") instanceof MemoryBusStorage);
 * ```
 */
export function openBusStorage(spec: string): BusStorage {
  if (spec === "memory") return new MemoryBusStorage();
  if (spec.startsWith("sqlite:") && spec.length > 7) return new SqliteBusStorage(spec.slice(7));
  throw new RangeError(`Invalid storage type '${spec}': use memory or sqlite:FILE`);
}

/** A running message bus; close it to unregister it, stop its daemon and close its storage. */
export class RunningMessageBus implements AsyncDisposable {
  /** The bus object. */
  readonly bus: MessageBus;
  /** Its daemon. */
  readonly daemon: Daemon;
  /** Its URI. */
  readonly uri: PyroUri;
  /** The name server it registered with, as `host:port`, or null. */
  readonly nameServer: string | null;
  #unregister: (() => Promise<void>) | null;
  #closed = false;

  /**
   * Used by {@linkcode startMessageBus}.
   *
   * @param bus the bus
   * @param daemon its daemon
   * @param uri its URI
   * @param nameServer where it is registered
   * @param unregister removes the registration
   */
  constructor(
    bus: MessageBus,
    daemon: Daemon,
    uri: PyroUri,
    nameServer: string | null,
    unregister: (() => Promise<void>) | null,
  ) {
    this.bus = bus;
    this.daemon = daemon;
    this.uri = uri;
    this.nameServer = nameServer;
    this.#unregister = unregister;
  }

  /** Unregisters from the name server (best effort), stops the daemon, closes the bus. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#unregister?.().catch(() => {});
    this.bus.close();
    await this.daemon.close();
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a message bus: a daemon serving a {@linkcode MessageBus} under the object id
 * `Pyro.MessageBus`, registered under that name in the name server unless told not to.
 *
 * Permissions: `--allow-net`; `--allow-read --allow-write` for sqlite storage.
 *
 * @param options address, storage, name server, delivery settings
 * @returns the running bus
 * @throws {NamingError} when the name server cannot be found
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startMessageBus } from "./daemon.ts";
 * await using running = await startMessageBus({ host: "127.0.0.1", port: 0, nameServer: false });
 * assert.equal(running.uri.object, "Pyro.MessageBus");
 * ```
 */
export async function startMessageBus(
  options: StartMessageBusOptions = {},
): Promise<RunningMessageBus> {
  const config = options.config ?? defaultConfig();
  const storage = typeof options.storage === "string"
    ? openBusStorage(options.storage)
    : options.storage ?? new MemoryBusStorage();
  let daemon: Daemon | null = null;
  const bus = new MessageBus({ ...options, storage });
  try {
    daemon = new Daemon({
      host: options.host ?? config.HOST,
      port: options.port ?? 0,
      unixSocket: options.unixSocket,
      config,
    });
    const uri = daemon.register(bus, MESSAGEBUS_NAME);
    const want = options.nameServer ?? true;
    if (want === false) return new RunningMessageBus(bus, daemon, uri, null, null);
    const where = want === true ? {} : want;
    await using ns = await locateNS(where.host, where.port, { config });
    await ns.register(MESSAGEBUS_NAME, uri.toString());
    const nsUri = ns._pyroUri;
    const unregister = async () => {
      await using again = await locateNS(nsUri.host ?? undefined, nsUri.port ?? undefined, {
        config,
      });
      // Only our own registration: a newer bus may have taken the name.
      const current = String(await again.lookup(MESSAGEBUS_NAME).catch(() => ""));
      if (current === uri.toString()) await again.remove(MESSAGEBUS_NAME);
    };
    return new RunningMessageBus(bus, daemon, uri, `${nsUri.host}:${nsUri.port}`, unregister);
  } catch (error) {
    bus.close();
    await daemon?.close();
    throw error;
  }
}
