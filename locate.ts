/**
 * Finding the name server and resolving PYRONAME/PYROMETA URIs through it: Pyro5's
 * `core.locate_ns` and `core.resolve`. `client.ts` re-exports both; the proxy calls
 * {@linkcode resolve} every time it connects, so a PYRONAME proxy follows the registration
 * until `_pyroBind()` pins it to the PYRO URI it found (Pyro5's behaviour).
 *
 * @module
 */
import { type ProxyOptions, PyroProxy } from "./client.ts";
import { defaultConfig, type PyroConfig } from "./config.ts";
import { NamingError, PyroError, TimeoutError } from "./errors.ts";
import { broadcastLocate } from "./nameserver/broadcast.ts";
import { PyroUri } from "./uri.ts";

/** The name server's object id. */
const NAMESERVER_NAME = "Pyro.NameServer";

/** Options for {@linkcode locateNS}. */
export interface LocateOptions {
  /**
   * Try broadcast discovery when no host is given.
   * @default {true}
   */
  broadcast?: boolean;
  /**
   * NS_HOST, NS_PORT, NS_BCPORT, BROADCAST_ADDRS, PREFER_IP_VERSION come from here.
   * @default {defaultConfig()} (the built-in defaults with `PYRO_*` applied)
   */
  config?: Readonly<PyroConfig>;
  /**
   * Options for the name server proxy (serializer, timeout...); its `config` defaults to the one
   * above.
   * @default {{}}
   */
  proxyOptions?: ProxyOptions;
  /**
   * Seconds to wait for a broadcast answer per round (Pyro5 uses 0.7, three rounds).
   * @default {0.7}
   */
  broadcastTimeout?: number;
}

function isLoopbackName(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function nsUriText(host: string, port: number): string {
  if (host.startsWith("./u:")) return `PYRO:${NAMESERVER_NAME}@${host}`;
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `PYRO:${NAMESERVER_NAME}@${shown}:${port}`;
}

async function bound(uri: string, options: ProxyOptions): Promise<PyroProxy> {
  const proxy = new PyroProxy(uri, options);
  try {
    await proxy._pyroBind();
    return proxy;
  } catch (error) {
    proxy._pyroRelease();
    throw error;
  }
}

/**
 * Finds a name server and returns a proxy for it, in Pyro5's order:
 * 1. a given host (or `./u:path` Unix socket) and port: connect there, nothing else;
 * 2. with no host, when NS_HOST is a loopback name: try NS_HOST on `port` (or NS_PORT);
 * 3. broadcast `GET_NSURI` to BROADCAST_ADDRS on `port` (or NS_BCPORT), three rounds;
 * 4. connect to NS_HOST:NS_PORT.
 *
 * Needs `--allow-net`.
 *
 * @param host host name, IP address or `./u:socketpath`; empty to search
 * @param port name server port, or broadcast port when searching; 0/undefined for the default
 * @param options broadcast switch, configuration, proxy options
 * @returns a proxy for the name server (connected, except one found by broadcast, as in Pyro5)
 * @throws {NamingError} "Failed to locate the nameserver" when nothing answers
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { locateNS } from "./locate.ts";
 * import { startNameServer } from "./nameserver.ts";
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
 * await using ns = await locateNS("127.0.0.1", server.uri.port!);
 * assert(await ns.count() === 1);
 * ```
 */
export async function locateNS(
  host: string | null = "",
  port: number | null = null,
  options: LocateOptions = {},
): Promise<PyroProxy> {
  const config = options.config ?? defaultConfig();
  const proxyOptions: ProxyOptions = { config, ...options.proxyOptions };
  let nsHost = host ?? "";
  let nsPort = port || 0;
  if (!nsHost) {
    if (isLoopbackName(config.NS_HOST)) {
      try {
        return await bound(nsUriText(config.NS_HOST, nsPort || config.NS_PORT), proxyOptions);
      } catch (error) {
        if (!(error instanceof PyroError)) throw error;
      }
    }
    if ((options.broadcast ?? true) && config.PREFER_IP_VERSION !== 6) {
      const found = await broadcastLocate({
        port: nsPort || config.NS_BCPORT,
        addresses: config.BROADCAST_ADDRS,
        timeout: options.broadcastTimeout ?? 0.7,
      });
      if (found) return new PyroProxy(found, proxyOptions);
    }
    nsHost = config.NS_HOST;
    nsPort = config.NS_PORT;
  }
  try {
    return await bound(nsUriText(nsHost, nsPort || config.NS_PORT), proxyOptions);
  } catch (error) {
    if (error instanceof PyroError) {
      throw new NamingError("Failed to locate the nameserver", { cause: error });
    }
    throw error;
  }
}

/** Options for {@linkcode resolve}. */
export interface ResolveOptions extends LocateOptions {
  /**
   * Seconds to keep retrying a lookup until the name appears (Pyro5's `delay_time`).
   * @default {config.NS_LOOKUP_DELAY} (0)
   */
  delayTime?: number;
}

function pythonSetRepr(items: Iterable<string>): string {
  const parts = [...items].map((s) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`);
  return parts.length === 0 ? "set()" : `{${parts.join(", ")}}`;
}

async function withRetries<T>(
  delaySeconds: number,
  attempt: () => Promise<T>,
  acceptable: (value: T) => boolean = () => true,
): Promise<T> {
  const start = Date.now();
  while ((Date.now() - start) / 1000 <= delaySeconds && delaySeconds > 0) {
    try {
      const value = await attempt();
      if (acceptable(value)) return value;
    } catch (error) {
      if (!(error instanceof NamingError || error instanceof TimeoutError)) throw error;
    }
    await new Promise((r) => setTimeout(r, Math.max(200, (delaySeconds * 1000) / 5)));
  }
  return await attempt();
}

/**
 * Turns a PYRONAME or PYROMETA URI into the PYRO URI it stands for, through the name server the
 * URI names (or the one {@linkcode locateNS} finds). A PYRO URI is returned unchanged. For
 * PYROMETA, one of the registrations having all the tags is picked at random, as in Pyro5.
 *
 * @param uri the URI
 * @param options lookup delay, configuration, proxy options
 * @returns the PYRO URI
 * @throws {NamingError} for an unknown name, no matching registration, or no name server
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolve } from "./locate.ts";
 * import { startNameServer } from "./nameserver.ts";
 * await using server = await startNameServer({ host: "127.0.0.1", port: 0 });
 * server.nameserver.register("thing", "PYRO:thing@localhost:5000", false, ["blue"]);
 * const where = `127.0.0.1:${server.uri.port}`;
 * assert((await resolve(`PYRONAME:thing@${where}`)).toString() === "PYRO:thing@localhost:5000");
 * assert((await resolve(`PYROMETA:blue@${where}`)).object === "thing");
 * ```
 */
export async function resolve(
  uri: string | PyroUri,
  options: ResolveOptions = {},
): Promise<PyroUri> {
  if (typeof uri !== "string" && !(uri instanceof PyroUri)) {
    throw new TypeError("can only resolve Pyro URIs");
  }
  const config = options.config ?? defaultConfig();
  // A PYRONAME/PYROMETA host without a port means the configured name server port.
  const parsed = typeof uri === "string" ? new PyroUri(uri, { nsPort: config.NS_PORT }) : uri;
  if (parsed.protocol === "PYRO") return parsed;
  const delay = options.delayTime || config.NS_LOOKUP_DELAY;
  await using ns = await locateNS(
    parsed.sockname ? `./u:${parsed.sockname}` : parsed.host,
    parsed.port,
    options,
  );
  if (parsed.protocol === "PYRONAME") {
    const found = await withRetries(delay, () => ns.lookup(parsed.object) as Promise<unknown>);
    return PyroUri.from(found as string | PyroUri);
  }
  const tags = [...parsed.metadata];
  const candidates = await withRetries(
    delay,
    () => ns.yplookup(tags, null, false) as Promise<Record<string, string>>,
    (found) => Object.keys(found).length > 0,
  );
  const uris = Object.values(candidates ?? {});
  if (uris.length === 0) {
    throw new NamingError(
      `no registrations available with desired metadata properties ${pythonSetRepr(tags)}`,
    );
  }
  return new PyroUri(String(uris[Math.floor(Math.random() * uris.length)]));
}
