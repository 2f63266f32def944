/**
 * Publishing a daemon's objects in the name server, the name server half of Pyro5's
 * `serve()`: each object is registered in the daemon (under a generated id, unless it already
 * is) and its URI in the name server under the given name.
 *
 * @module
 */
import type { PyroProxy } from "../client.ts";
import { locateNS, type LocateOptions } from "../locate.ts";
import { DaemonError } from "../errors.ts";
import type { Daemon } from "../server.ts";
import type { PyroUri } from "../uri.ts";

/** Options for {@linkcode registerWithNameServer}. */
export interface RegisterWithNameServerOptions {
  /**
   * A name server proxy to use; by default one is located (and released afterwards).
   * @default {undefined}
   */
  ns?: PyroProxy;
  /**
   * Host (or `./u:path`) of the name server to locate.
   * @default {""} (search as locateNS does)
   */
  nsHost?: string;
  /**
   * Port of the name server to locate.
   * @default {undefined}
   */
  nsPort?: number;
  /**
   * How to locate the name server.
   * @default {{ config: daemon.config }}
   */
  locate?: LocateOptions;
  /**
   * Metadata tags per name.
   * @default {{}}
   */
  metadata?: Readonly<Record<string, Iterable<string>>>;
  /**
   * Refuse names that are already registered (the name server's `safe` mode).
   * @default {false}
   */
  safe?: boolean;
}

/**
 * Registers objects in a daemon and their names in the name server.
 *
 * Needs `--allow-net`.
 *
 * @param daemon the daemon serving the objects
 * @param objects name → object (a `Map` or a plain object)
 * @param options which name server, metadata, safe mode
 * @returns name → URI of every object registered
 * @throws {NamingError} when no name server is found or it refuses a registration
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { registerWithNameServer, startNameServer } from "../nameserver.ts";
 * import { Daemon, exposeObject } from "../server.ts";
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
 * await using daemon = new Daemon({ host: "127.0.0.1" });
 * const uris = await registerWithNameServer(daemon, { "example.echo": exposeObject({ echo: (x: unknown) => x }) }, {
 *   nsHost: "127.0.0.1",
 *   nsPort: server.uri.port!,
 *   metadata: { "example.echo": ["echo"] },
 * });
 * assert(server.nameserver.lookup("example.echo").toString() === uris.get("example.echo")!.toString());
 * ```
 */
export async function registerWithNameServer(
  daemon: Daemon,
  objects: ReadonlyMap<string, object> | Readonly<Record<string, object>>,
  options: RegisterWithNameServerOptions = {},
): Promise<Map<string, PyroUri>> {
  const entries = objects instanceof Map ? [...objects] : Object.entries(objects);
  const ns = options.ns ??
    await locateNS(options.nsHost ?? "", options.nsPort ?? null, {
      config: daemon.config,
      ...options.locate,
    });
  const result = new Map<string, PyroUri>();
  try {
    for (const [name, object] of entries) {
      let uri: PyroUri;
      try {
        uri = daemon.uriFor(object);
      } catch (error) {
        if (!(error instanceof DaemonError)) throw error;
        uri = daemon.register(object);
      }
      const tags = options.metadata?.[name];
      await ns.register(name, uri, options.safe ?? false, tags ? [...tags] : null);
      result.set(name, uri);
    }
  } finally {
    if (!options.ns) ns._pyroRelease();
  }
  return result;
}
