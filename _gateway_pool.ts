/**
 * The HTTP gateway's proxies: per object name, a bounded pool of connected json proxies that
 * requests share, so a request costs one Pyro call rather than a name lookup, a connect, a
 * handshake and a metadata fetch (what Pyro5's gateway does for every request).
 *
 * A call goes to the pool's least busy proxy; a new proxy is connected only while every proxy
 * has a call in flight and the pool is below its size, beyond that calls are pipelined on the
 * existing connections. The name is looked up again after `lookupTtl` seconds and after a
 * connection problem, so a re-registered object is found at its new address.
 *
 * @module
 */
import { PyroProxy } from "./client.ts";
import { CommunicationError, PyroError } from "./errors.ts";
import { locateNS } from "./locate.ts";
import type { PyroConfig } from "./config.ts";

/** Options of a {@linkcode ProxyPools}. */
export interface ProxyPoolsOptions {
  /** Configuration for the proxies and for finding the name server. */
  config: Readonly<PyroConfig>;
  /** Seconds a connect or a call may take; 0 waits forever. */
  timeout: number;
  /** Most proxies (connections) per object name. */
  poolSize: number;
  /** Seconds a name's lookup is used before it is looked up again. */
  lookupTtl: number;
  /** The name server's host (empty to locate it as Pyro5 does) and port. */
  nsHost: string;
  /** The name server's port, or 0 for the configured one. */
  nsPort: number;
}

/** One pooled proxy and how many calls it has in flight. */
interface Member {
  proxy: PyroProxy;
  busy: number;
  ready: Promise<void>;
  /** Out of its pool: closed when its last call ends. */
  dropped: boolean;
}

/** The proxies of one object name, all for the URI the name had when it was looked up. */
class Pool {
  readonly members: Member[] = [];
  constructor(readonly uri: string, public lookedUpAt: number) {}
}

/** A proxy lent for one call; `release()` hands it back. */
export interface PooledProxy {
  /** The connected proxy (json serializer, metadata known). */
  readonly proxy: PyroProxy;
  /** Gives the proxy back; `failed` after a connection problem drops the pool's connections. */
  release(failed?: boolean): void;
}

/**
 * The pools of all object names, and the one name server proxy the lookups go through.
 */
export class ProxyPools {
  #options: ProxyPoolsOptions;
  #pools = new Map<string, Pool>();
  #lookups = new Map<string, Promise<Pool>>();
  #ns: Promise<PyroProxy> | null = null;
  #closed = false;

  /** @param options configuration, timeout, sizes and where the name server is */
  constructor(options: ProxyPoolsOptions) {
    this.#options = options;
  }

  /**
   * The name server proxy (located on first use, again after it was lost).
   *
   * @returns the proxy
   * @throws {NamingError} when no name server is found
   */
  nameServer(): Promise<PyroProxy> {
    if (this.#ns === null) {
      const { config, timeout, nsHost, nsPort } = this.#options;
      const ns = locateNS(nsHost, nsPort, {
        config,
        proxyOptions: { serializer: "json", timeout },
      }).then(async (proxy) => {
        await proxy._pyroBind();
        return proxy;
      });
      this.#ns = ns;
      ns.catch(() => {
        if (this.#ns === ns) this.#ns = null;
      });
    }
    return this.#ns;
  }

  /**
   * Calls the name server, locating it again once when its connection was lost.
   *
   * @param call what to ask the name server
   * @returns the answer
   */
  async withNameServer<T>(call: (ns: PyroProxy) => Promise<T>): Promise<T> {
    const ns = await this.nameServer();
    try {
      return await call(ns);
    } catch (error) {
      if (!(error instanceof CommunicationError)) throw error;
      this.#forgetNameServer(ns);
      return await call(await this.nameServer());
    }
  }

  #forgetNameServer(ns: PyroProxy): void {
    this.#ns = null;
    ns._pyroRelease();
  }

  /**
   * Lends a connected proxy for an object name.
   *
   * @param name the name in the name server
   * @returns the lent proxy; release it when the call is done
   * @throws {NamingError} for an unknown name or no name server
   * @throws {CommunicationError} when the object cannot be reached
   */
  async acquire(name: string): Promise<PooledProxy> {
    if (this.#closed) throw new PyroError("the gateway is closed");
    let pool = await this.#pool(name);
    try {
      return await this.#lend(name, pool);
    } catch (error) {
      if (!(error instanceof CommunicationError)) throw error;
      // A connect that failed: the object may have moved; look it up again, once.
      this.#drop(name, pool);
      pool = await this.#pool(name);
      return await this.#lend(name, pool);
    }
  }

  async #pool(name: string): Promise<Pool> {
    const pool = this.#pools.get(name);
    const ttlMs = this.#options.lookupTtl * 1000;
    if (pool && performance.now() - pool.lookedUpAt < ttlMs) return pool;
    let lookup = this.#lookups.get(name);
    if (!lookup) {
      lookup = this.#lookup(name, pool).finally(() => this.#lookups.delete(name));
      this.#lookups.set(name, lookup);
    }
    return await lookup;
  }

  async #lookup(name: string, old: Pool | undefined): Promise<Pool> {
    const uri = String(await this.withNameServer((ns) => ns.lookup(name)));
    if (this.#closed) throw new PyroError("the gateway is closed");
    if (old && old.uri === uri && this.#pools.get(name) === old) {
      // Same address: keep the connections, restart the clock.
      old.lookedUpAt = performance.now();
      return old;
    }
    if (old) this.#drop(name, old);
    const pool = new Pool(uri, performance.now());
    this.#pools.set(name, pool);
    return pool;
  }

  async #lend(name: string, pool: Pool): Promise<PooledProxy> {
    let member = pool.members.reduce<Member | undefined>(
      (best, m) => (best === undefined || m.busy < best.busy ? m : best),
      undefined,
    );
    if (member === undefined || (member.busy > 0 && pool.members.length < this.#options.poolSize)) {
      const proxy = new PyroProxy(pool.uri, {
        serializer: "json",
        timeout: this.#options.timeout,
        config: this.#options.config,
      });
      const created: Member = {
        proxy,
        busy: 0,
        ready: proxy._pyroBind().then(() => {}),
        dropped: false,
      };
      pool.members.push(created);
      created.ready.catch(() => this.#remove(pool, created));
      member = created;
    }
    member.busy++;
    try {
      await member.ready;
    } catch (error) {
      member.busy--;
      throw error;
    }
    const lent = member;
    let released = false;
    return {
      proxy: lent.proxy,
      release: (failed = false) => {
        if (released) return;
        released = true;
        lent.busy--;
        if (failed) this.#drop(name, pool);
        if (lent.dropped && lent.busy === 0) lent.proxy._pyroRelease();
      },
    };
  }

  #remove(pool: Pool, member: Member): void {
    const index = pool.members.indexOf(member);
    if (index >= 0) pool.members.splice(index, 1);
    member.proxy._pyroRelease();
  }

  /** Forgets a pool: its idle proxies close now, busy ones when their calls end. */
  #drop(name: string, pool: Pool): void {
    if (this.#pools.get(name) === pool) this.#pools.delete(name);
    for (const member of pool.members.splice(0)) {
      member.dropped = true;
      if (member.busy === 0) member.proxy._pyroRelease();
    }
  }

  /** Closes every proxy and the name server proxy. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [name, pool] of this.#pools) this.#drop(name, pool);
    const ns = this.#ns;
    this.#ns = null;
    ns?.then((proxy) => proxy._pyroRelease(), () => {});
  }
}
