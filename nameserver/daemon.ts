/**
 * A complete, running name server: a {@linkcode Daemon} serving a {@linkcode NameServer} under
 * `Pyro.NameServer` (registered in itself with its class metadata, as Pyro5 does), its
 * broadcast responder, and auto-clean when configured. Pyro5's `NameServerDaemon`,
 * `start_ns` and `start_ns_loop` rolled into {@linkcode startNameServer}.
 *
 * @module
 */
import { defaultConfig, type PyroConfig } from "../config.ts";
import { PyroLogger } from "../_log.ts";
import { Daemon } from "../server.ts";
import type { PyroUri } from "../uri.ts";
import { AutoCleaner } from "./autoclean.ts";
import { BroadcastServer } from "./broadcast.ts";
import {
  NameServer,
  NAMESERVER_CLASS_TAG,
  NAMESERVER_NAME,
  type NameServerLimits,
} from "./name_server.ts";
import { MemoryStorage, type NameStorage } from "./storage.ts";
import { SqlStorage, type SqlStorageOptions } from "./storage_sql.ts";

/** Options for {@linkcode startNameServer}. */
export interface StartNameServerOptions {
  /**
   * Host name or address to bind.
   * @default {config.HOST} ("localhost")
   */
  host?: string;
  /**
   * TCP port; 0 picks a free one.
   * @default {config.NS_PORT} (9090)
   */
  port?: number;
  /**
   * Unix domain socket path to listen on instead of TCP.
   * @default {undefined}
   */
  unixSocket?: string;
  /**
   * Public host behind NAT.
   * @default {config.NATHOST}
   */
  natHost?: string | null;
  /**
   * Public port behind NAT.
   * @default {config.NATPORT}
   */
  natPort?: number;
  /**
   * `"memory"`, `"sql:FILE"`, or a storage object.
   * @default {"memory"}
   */
  storage?: string | NameStorage;
  /**
   * Durability settings of an `sql:` storage.
   * @default {{}}
   */
  sqlOptions?: SqlStorageOptions;
  /**
   * Start the broadcast responder. As in Pyro5 it is never started for a name server on a Unix
   * socket, on IPv6, or bound to a loopback address (see `broadcastSkipped`).
   * @default {true}
   */
  enableBroadcast?: boolean;
  /**
   * Address the broadcast responder binds.
   * @default {config.NS_BCHOST ?? ""} (every interface)
   */
  bcHost?: string;
  /**
   * UDP port of the broadcast responder.
   * @default {config.NS_BCPORT} (9091)
   */
  bcPort?: number;
  /**
   * Seconds between auto-clean passes; 0 disables auto-clean.
   * @default {config.NS_AUTOCLEAN} (0)
   */
  autoClean?: number;
  /**
   * Size limits of names, URIs, metadata and regexes.
   * @default {DEFAULT_NAMESERVER_LIMITS}
   */
  limits?: Partial<NameServerLimits>;
  /**
   * Configuration for the daemon and the defaults above.
   * @default {defaultConfig()} (the built-in defaults with `PYRO_*` applied)
   */
  config?: Readonly<PyroConfig>;
  /**
   * Closes the name server when aborted.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Makes the storage a `-s` option names: `memory` or `sql:FILE`.
 *
 * @param spec the storage text
 * @param sqlOptions settings for sql storage
 * @returns the storage
 * @throws {RangeError} for an unknown storage type
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { openStorage } from "./daemon.ts";
 * import { MemoryStorage } from "./storage.ts";
 * assert(openStorage("memory") instanceof MemoryStorage);
 * ```
 */
export function openStorage(spec: string, sqlOptions: SqlStorageOptions = {}): NameStorage {
  if (spec === "memory" || spec === "") return new MemoryStorage();
  if (spec.startsWith("sql:") && spec.length > 4) return new SqlStorage(spec.slice(4), sqlOptions);
  throw new RangeError(`Invalid storage type '${spec}'`);
}

/**
 * A running name server. Close it (or `await using` it) to stop the daemon, the broadcast
 * responder and auto-clean, and to close the storage.
 */
export class RunningNameServer implements AsyncDisposable {
  /** The daemon serving the name server. */
  readonly daemon: Daemon;
  /** The name server object. */
  readonly nameserver: NameServer;
  /** The name server's URI (the public one behind NAT). */
  readonly uri: PyroUri;
  /** The URI on the address it really listens on. */
  readonly internalUri: PyroUri;
  /** The broadcast responder, or null. */
  readonly broadcast: BroadcastServer | null;
  /**
   * Pyro5's message when the address rules out a broadcast responder (IPv6 or loopback), or
   * null; set whether or not broadcast was asked for, as Pyro5 prints it either way.
   */
  readonly broadcastSkipped: string | null;
  /** The auto-cleaner, or null. */
  readonly autoCleaner: AutoCleaner | null;
  #closing: Promise<void> | undefined;
  #onAbort: (() => void) | undefined;
  #signal: AbortSignal | undefined;

  /** @internal use {@linkcode startNameServer} */
  constructor(parts: {
    daemon: Daemon;
    nameserver: NameServer;
    broadcast: BroadcastServer | null;
    broadcastSkipped: string | null;
    autoCleaner: AutoCleaner | null;
    signal?: AbortSignal;
  }) {
    this.daemon = parts.daemon;
    this.nameserver = parts.nameserver;
    this.uri = parts.daemon.uriFor(parts.nameserver);
    this.internalUri = parts.daemon.uriFor(parts.nameserver, false);
    this.broadcast = parts.broadcast;
    this.broadcastSkipped = parts.broadcastSkipped;
    this.autoCleaner = parts.autoCleaner;
    this.#signal = parts.signal;
    if (this.#signal) {
      this.#onAbort = () => void this.close();
      if (this.#signal.aborted) this.#onAbort();
      else this.#signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Resolves once the name server's daemon is closed. */
  get closed(): Promise<void> {
    return this.daemon.closed;
  }

  /** Stops everything and closes the storage; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#onAbort) this.#signal?.removeEventListener("abort", this.#onAbort);
      await this.autoCleaner?.close();
      await this.broadcast?.close();
      await this.daemon.close();
      this.nameserver._storage.close();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode RunningNameServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "localhost" || host === "::1";
}

/**
 * Starts a name server: daemon, `Pyro.NameServer` registration, broadcast responder (unless
 * skipped) and auto-clean (when configured).
 *
 * Needs `--allow-net`; `--allow-read`/`--allow-write` for sql storage or a Unix socket.
 *
 * @param options where to listen, storage, broadcast, auto-clean, configuration
 * @returns the running name server
 * @throws {RangeError} for an invalid storage or auto-clean setting
 * @throws {NamingError} when the sql storage cannot be opened
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startNameServer } from "./daemon.ts";
 * await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
 * assert(ns.broadcast === null); // never for a loopback name server
 * assert(ns.nameserver.lookup("Pyro.NameServer").toString() === ns.uri.toString());
 * ```
 */
export async function startNameServer(
  options: StartNameServerOptions = {},
): Promise<RunningNameServer> {
  const config = options.config ?? defaultConfig();
  const log = new PyroLogger("Pyro5.nameserver", config);
  const autoClean = options.autoClean ?? config.NS_AUTOCLEAN;
  const storage = typeof options.storage === "object"
    ? options.storage
    : openStorage(options.storage ?? "memory", options.sqlOptions);
  let daemon: Daemon | undefined;
  let broadcast: BroadcastServer | null = null;
  try {
    const nameserver = new NameServer({ storage, limits: options.limits });
    const autoCleaner = autoClean > 0 ? new AutoCleaner(nameserver, { interval: autoClean }) : null;
    daemon = new Daemon({
      host: options.host ?? config.HOST,
      port: options.port ?? config.NS_PORT,
      unixSocket: options.unixSocket,
      natHost: options.natHost,
      natPort: options.natPort,
      config,
    });
    daemon.register(nameserver, NAMESERVER_NAME);
    nameserver.register(NAMESERVER_NAME, daemon.uriFor(nameserver), false, [NAMESERVER_CLASS_TAG]);
    // Pyro5's rules (and messages): no broadcast for IPv6 or loopback, none for Unix sockets.
    let broadcastSkipped: string | null = null;
    const hostIp = options.unixSocket ? null : (daemon.addr as Deno.NetAddr).hostname;
    if (hostIp?.includes(":")) broadcastSkipped = "Not starting broadcast server for IPv6.";
    else if (hostIp && isLoopback(hostIp)) {
      broadcastSkipped = "Not starting broadcast server for localhost.";
    }
    if ((options.enableBroadcast ?? true) && hostIp && !broadcastSkipped) {
      broadcast = await BroadcastServer.start(daemon.uriFor(nameserver, false), {
        host: options.bcHost ?? config.NS_BCHOST ?? "",
        port: options.bcPort ?? config.NS_BCPORT,
        reuseAddress: config.SOCK_REUSE,
      });
    }
    autoCleaner?.start();
    log.debug(
      typeof options.storage === "string" && options.storage.startsWith("sql:")
        ? `using persistent sql storage in file ${options.storage.slice(4)}`
        : "using volatile in-memory dict storage",
    );
    log.debug(`number of existing entries in storage: ${nameserver.count()}`);
    log.debug(autoCleaner ? "autoclean enabled" : "autoclean not enabled");
    if (broadcast) log.info(`ns broadcast server created on ${broadcast.locationStr}`);
    else if (broadcastSkipped) log.info(broadcastSkipped);
    log.info(`nameserver daemon created on ${daemon.locationStr}`);
    return new RunningNameServer({
      daemon,
      nameserver,
      broadcast,
      broadcastSkipped,
      autoCleaner,
      signal: options.signal,
    });
  } catch (error) {
    await broadcast?.close();
    await daemon?.close();
    storage.close();
    throw error;
  }
}
