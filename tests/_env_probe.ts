/**
 * Run by `tests/config_env_test.ts` in a subprocess with `PYRO_*` variables set: creates the
 * library's objects without passing a configuration and prints, as one JSON line, what they did.
 *
 * Usage: `deno run <permissions> tests/_env_probe.ts PROBE [ARG]`.
 *
 * @module
 */
import {
  currentContext,
  Daemon,
  DEFAULT_CONFIG,
  defaultConfig,
  expose,
  locateNS,
  PyroProxy,
  resolve,
  startNameServer,
} from "../mod.ts";

@expose
class Probe {
  serializerId(): number {
    return currentContext()!.serializerId;
  }
  echo(value: unknown): unknown {
    return value;
  }
}

function errorOf(error: unknown): { error: string; message: string } {
  const e = error as Error;
  return { error: e.name, message: e.message };
}

const probes: Record<string, (arg?: string) => Promise<unknown>> = {
  // The control for the no-prompt test: a plain read, which prompts without permission.
  rawRead() {
    return Promise.resolve({ value: Deno.env.get("PYRO_SERIALIZER") ?? null });
  },
  // The configuration each object ends up with.
  async configs() {
    await using daemon = new Daemon({ port: 0 });
    await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
    const proxy = new PyroProxy("PYRO:x@127.0.0.1:1");
    return {
      defaults: defaultConfig(),
      builtIn: DEFAULT_CONFIG,
      daemon: daemon.config,
      nameserver: ns.daemon.config,
      proxy: { timeout: proxy._pyroTimeout, maxRetries: proxy._pyroMaxRetries },
    };
  },
  // Where a daemon listens and what its URIs say.
  async daemon() {
    await using daemon = new Daemon({ port: 0 });
    await using explicit = new Daemon({ host: "127.0.0.1", port: 0 });
    return {
      host: (daemon.addr as Deno.NetAddr).hostname,
      uri: String(daemon.uriFor("obj")),
      explicitHost: (explicit.addr as Deno.NetAddr).hostname,
    };
  },
  // The serializer and size limit a proxy uses, and that explicit options win.
  async proxy() {
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const uri = daemon.register(new Probe(), "probe");
    await using proxy = new PyroProxy(uri);
    await using marshal = new PyroProxy(uri, { serializer: "marshal" });
    let big: unknown;
    try {
      big = await proxy.echo("x".repeat(5000));
    } catch (error) {
      big = errorOf(error);
    }
    return {
      serializerId: await proxy.serializerId(),
      explicitSerializerId: await marshal.serializerId(),
      big: typeof big === "string" ? big.length : big,
    };
  },
  // A proxy's call to a server that never answers.
  async timeout() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) accepted.push(conn);
    })();
    const start = performance.now();
    let outcome: unknown;
    await using proxy = new PyroProxy(`PYRO:x@127.0.0.1:${listener.addr.port}`);
    try {
      await proxy._pyroBind();
      outcome = "bound";
    } catch (error) {
      outcome = errorOf(error);
    }
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
    return { outcome, seconds: (performance.now() - start) / 1000 };
  },
  // A daemon's connection limit.
  async threadpool() {
    await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const uri = daemon.register(new Probe(), "probe");
    await using first = new PyroProxy(uri);
    await first._pyroBind();
    await using second = new PyroProxy(uri);
    try {
      await second._pyroBind();
      return { second: "bound" };
    } catch (error) {
      return { second: errorOf(error) };
    }
  },
  // A name server started, then found by PYRONAME, locateNS() and resolve() with no arguments.
  async nameserver() {
    await using ns = await startNameServer();
    await using byName = new PyroProxy("PYRONAME:Pyro.NameServer");
    await using located = await locateNS();
    const resolved = await resolve("PYRONAME:Pyro.NameServer");
    return {
      nsUri: String(ns.uri),
      autoClean: ns.autoCleaner !== null,
      pyronameCount: await byName.count(),
      locatedUri: String(located._pyroUri),
      resolved: String(resolved),
    };
  },
  // resolve() waiting NS_LOOKUP_DELAY for a name registered later.
  async lookupdelay() {
    await using ns = await startNameServer({ host: "127.0.0.1", port: 0 });
    const later = setTimeout(() => ns.nameserver.register("later", "PYRO:later@localhost:1"), 300);
    try {
      return { resolved: String(await resolve(`PYRONAME:later@127.0.0.1:${ns.uri.port}`)) };
    } catch (error) {
      return { resolved: errorOf(error) };
    } finally {
      clearTimeout(later);
    }
  },
};

const [name, arg] = Deno.args;
let result: unknown;
try {
  result = await probes[name](arg);
} catch (error) {
  result = errorOf(error);
}
console.log(JSON.stringify(result));
