/**
 * `serve()`: Pyro5's shortcut for a server program. Internal: `server.ts` re-exports it.
 *
 * @module
 */
import type { PyroConfig } from "./config.ts";
import { locateNS, type LocateOptions } from "./locate.ts";
import { Daemon } from "./server.ts";

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /**
   * Host to listen on, when `serve` makes the daemon.
   * @default {config.HOST}
   */
  host?: string;
  /**
   * Port to listen on, when `serve` makes the daemon; 0 picks a free one.
   * @default {0}
   */
  port?: number;
  /**
   * A daemon to use instead of a new one (then `host`, `port` and `config` are not used).
   * @default {undefined}
   */
  daemon?: Daemon;
  /**
   * Register the names in the name server (found with {@linkcode locateNS}); otherwise the names
   * are the object ids in the daemon.
   * @default {true}
   */
  useNs?: boolean;
  /**
   * Print each object's URI and name, then "Pyro daemon running.", as Pyro5 does.
   * @default {true}
   */
  verbose?: boolean;
  /**
   * Configuration of the new daemon and for finding the name server.
   * @default {defaultConfig()}
   */
  config?: Readonly<PyroConfig>;
  /**
   * How to find the name server (see {@linkcode locateNS}).
   * @default {{}}
   */
  locateOptions?: LocateOptions;
  /**
   * Stops serving when aborted: the daemon is closed and the returned promise settles.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Where the verbose lines go.
   * @default {console.log}
   */
  print?: (line: string) => void;
}

function describe(target: object): string {
  if (typeof target === "function") return `<class '${target.name || "anonymous"}'>`;
  const name = (target as { constructor?: { name?: unknown } }).constructor?.name;
  return `<${typeof name === "string" && name !== "" ? name : "Object"} object>`;
}

/**
 * Serves objects, as Pyro5's `serve(objects, host, port, daemon, use_ns, verbose)`: registers
 * each object (or class) of `objects` with a daemon (a new one unless given), with its name in
 * the name server (`useNs`, the default) or as its object id, prints what Pyro5 prints, and
 * serves until the daemon is closed (`signal`, or closing a given daemon). A daemon made here is
 * closed when serving ends, also on an error while registering.
 *
 * @param objects each object or class with its name (null or undefined: no name), e.g. a `Map`
 * @param options where to listen, the daemon, the name server, output
 * @returns a promise settled once the daemon is closed
 * @throws {NamingError} when `useNs` is set and no name server is found
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { exposeObject, PyroProxy, serve } from "./mod.ts";
 * const controller = new AbortController();
 * const lines: string[] = [];
 * const served = serve(new Map([[exposeObject({ hi: () => "hi" }), "example.hi"]]), {
 *   host: "127.0.0.1",
 *   useNs: false,
 *   signal: controller.signal,
 *   print: (line) => lines.push(line),
 * });
 * while (lines.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
 * const uri = lines[1].trim().slice("uri = ".length);
 * await using proxy = new PyroProxy(uri);
 * assert(await proxy.hi() === "hi");
 * controller.abort();
 * await served;
 * ```
 */
export async function serve(
  objects: Iterable<readonly [object, string | null | undefined]>,
  options: ServeOptions = {},
): Promise<void> {
  const print = options.print ?? ((line: string) => console.log(line));
  const verbose = options.verbose ?? true;
  const useNs = options.useNs ?? true;
  const own = options.daemon === undefined;
  const daemon = options.daemon ??
    new Daemon({ host: options.host, port: options.port ?? 0, config: options.config });
  const stop = () => daemon.close();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    if (options.signal?.aborted) return;
    const ns = useNs
      ? await locateNS(null, null, { config: options.config, ...options.locateOptions })
      : null;
    try {
      for (const [target, name] of objects) {
        // With a name server the name goes there; the daemon makes up the object id.
        const uri = daemon.register(target, ns ? undefined : name ?? undefined);
        if (verbose) {
          print(`Object ${describe(target)}:`);
          print(`    uri = ${uri}`);
        }
        if (name && ns) {
          await ns.register(name, uri.toString());
          if (verbose) print(`    name = ${name}`);
        }
      }
    } finally {
      ns?._pyroRelease();
    }
    if (verbose) print("Pyro daemon running.");
    await daemon.closed;
  } finally {
    options.signal?.removeEventListener("abort", stop);
    if (own) await daemon.close();
  }
}
