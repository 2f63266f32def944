/**
 * The Pyro name server, compatible with Python Pyro5's: Python clients and `pyro5-nsc` use it
 * unchanged, and our clients use Python's.
 *
 * - {@linkcode startNameServer}: a running name server (daemon, broadcast responder, auto-clean)
 *   over memory or sqlite storage (`storage: "sql:FILE"`).
 * - {@linkcode NameServer}: the remote object itself (register, lookup, list, yplookup, remove,
 *   set_metadata, count, ping), usable in any daemon.
 * - {@linkcode BroadcastServer} and {@linkcode broadcastLocate}: UDP discovery on NS_BCPORT.
 * - {@linkcode registerWithNameServer}: registers a daemon's objects under names.
 * - `locateNS` and `resolve` live in `locate.ts` and are exported by `client.ts`.
 *
 * | file                        | job                                                   |
 * | --------------------------- | ----------------------------------------------------- |
 * | `nameserver/name_server.ts` | the remote interface and its input checks             |
 * | `nameserver/storage.ts`     | the storage contract, memory storage                  |
 * | `nameserver/storage_sql.ts` | sqlite storage in Pyro5's schema (WAL, transactions)  |
 * | `nameserver/_sql_file.ts`   | which sqlite files it opens; clear refusals           |
 * | `nameserver/python_regex.ts`| Python regex → JavaScript RegExp                      |
 * | `nameserver/broadcast.ts`   | UDP responder and broadcast lookup (`node:dgram`)     |
 * | `nameserver/autoclean.ts`   | NS_AUTOCLEAN                                          |
 * | `nameserver/daemon.ts`      | startNameServer                                       |
 * | `nameserver/publish.ts`     | registerWithNameServer                                |
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { startNameServer } from "./nameserver.ts";
 * import { locateNS } from "./locate.ts";
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
 * await using ns = await locateNS("127.0.0.1", server.uri.port!);
 * await ns.register("example.thing", "PYRO:thing@localhost:5000", false, ["things"]);
 * assert.deepStrictEqual(await ns.yplookup(["things"], null, false), {
 *   "example.thing": "PYRO:thing@localhost:5000",
 * });
 * ```
 *
 * @module
 */
export {
  DEFAULT_NAMESERVER_LIMITS,
  NameServer,
  NAMESERVER_CLASS_TAG,
  NAMESERVER_NAME,
  type NameServerLimits,
  type NameServerOptions,
} from "./nameserver/name_server.ts";
export {
  MemoryStorage,
  type MetadataMatch,
  type NameRegistration,
  type NameStorage,
} from "./nameserver/storage.ts";
export { SqlStorage, type SqlStorageOptions } from "./nameserver/storage_sql.ts";
export { pythonRegex } from "./nameserver/python_regex.ts";
export {
  BROADCAST_REQUEST,
  broadcastLocate,
  type BroadcastLocateOptions,
  BroadcastServer,
  type BroadcastServerOptions,
  DEFAULT_BROADCAST_PORT,
} from "./nameserver/broadcast.ts";
export {
  AutoCleaner,
  type AutoCleanerOptions,
  MIN_AUTOCLEAN_INTERVAL,
} from "./nameserver/autoclean.ts";
export {
  openStorage,
  RunningNameServer,
  startNameServer,
  type StartNameServerOptions,
} from "./nameserver/daemon.ts";
export {
  registerWithNameServer,
  type RegisterWithNameServerOptions,
} from "./nameserver/publish.ts";
