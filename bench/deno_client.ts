/**
 * A client process of the benchmark (started by bench/main.ts with one JSON argument, a
 * {@linkcode ClientConfig}). It runs the asked workloads one after another against a daemon
 * (or the bare TCP ceilings against bench/deno_server.ts in `ceiling` mode), and prints one
 * JSON line ({@linkcode RunResult}) per workload. Every workload warms up for `warmupMs`, then
 * is measured for `durationMs` (at least one operation). Mode `idle` opens `connections`
 * proxies, prints `{"ready": n}` and holds them until stdin closes.
 *
 * Permissions: `--allow-net=127.0.0.1 --allow-read`.
 *
 * @module
 */
import { locateNS, PyroProxy, StreamResult } from "../client.ts";
import {
  type ClientConfig,
  emit,
  notApplicable,
  NS_LOOKUP_NAME,
  patternBytes,
  quantile,
  type RunResult,
  SMALL_VALUE,
  stdinClosed,
  tlsClientConfig,
  type Workload,
} from "./_common.ts";

const MB = 1e6;
/** Items a remote iterator may yield at most (the workload stops it long before). */
const ITERATOR_ITEMS = 1e9;
/** Operations between clock reads for workloads of microseconds per operation. */
const FAST_STRIDE = 16;
/** Every how many calls of workload `small` a latency is taken. */
const LATENCY_SAMPLE = 8;

/**
 * Runs `op` until `ms` have passed (at least once); returns operations and seconds. The clock
 * is read after every `stride` runs of `op`: fast operations are not slowed by reading it.
 */
async function timed(
  ms: number,
  op: () => Promise<number>,
  stride = 1,
): Promise<{ ops: number; seconds: number }> {
  const start = performance.now();
  const end = start + ms;
  let ops = 0;
  do {
    for (let i = 0; i < stride; i++) ops += await op();
  } while (performance.now() < end);
  return { ops, seconds: (performance.now() - start) / 1000 };
}

async function runWorkload(config: ClientConfig, workload: Workload): Promise<RunResult> {
  const serializer = config.serializer!;
  const uri = config.uri!;
  const { durationMs, warmupMs } = config;
  const bulkBytes = config.bulkBytes ?? 10 * MB;
  const proxyConfig = tlsClientConfig(config.tls);
  const rate = (r: { ops: number; seconds: number }, perMB = false): RunResult => ({
    workload,
    ops: r.ops,
    seconds: r.seconds,
    rate: perMB ? r.ops / MB / r.seconds : r.ops / r.seconds,
  });
  switch (workload) {
    case "small": {
      await using proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
      await proxy._pyroBind();
      await timed(warmupMs, async () => (await proxy.echo(SMALL_VALUE), 1), FAST_STRIDE);
      // The latency of every LATENCY_SAMPLE-th call: reading the clock twice per call would
      // cost a few percent of the rate.
      let latencies = new Float64Array(1 << 14);
      let count = 0;
      let calls = 0;
      const r = await timed(durationMs, async () => {
        if (++calls % LATENCY_SAMPLE !== 0) return (await proxy.echo(SMALL_VALUE), 1);
        const t0 = performance.now();
        await proxy.echo(SMALL_VALUE);
        if (count === latencies.length) {
          const grown = new Float64Array(count * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[count++] = (performance.now() - t0) * 1000;
        return 1;
      }, FAST_STRIDE);
      const sorted = latencies.subarray(0, count).sort();
      return { ...rate(r), p50Us: quantile(sorted, 0.5), p99Us: quantile(sorted, 0.99) };
    }
    case "connect": {
      const once = async () => {
        const proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
        try {
          await proxy.echo(SMALL_VALUE);
        } finally {
          proxy._pyroRelease();
        }
        return 1;
      };
      await timed(warmupMs, once);
      return rate(await timed(durationMs, once));
    }
    case "oneway": {
      await using proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
      await proxy._pyroBind();
      await timed(warmupMs, async () => (await proxy.ping(), 1), FAST_STRIDE);
      await waitForOneways(proxy, -1, 30_000);
      await proxy.reset_count();
      const start = performance.now();
      const sent = await timed(durationMs, async () => (await proxy.ping(), 1), FAST_STRIDE);
      const counted = await waitForOneways(proxy, sent.ops, 30_000);
      return rate({ ops: counted, seconds: (performance.now() - start) / 1000 });
    }
    case "batch": {
      await using proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
      await proxy._pyroBind();
      const size = config.batchSize ?? 100;
      const once = async () => {
        const batch = proxy._pyroBatch();
        for (let i = 0; i < size; i++) batch.echo(SMALL_VALUE);
        let n = 0;
        for (const _ of await batch()) n++;
        if (n !== size) throw new Error(`batch gave ${n} results`);
        return size;
      };
      await timed(warmupMs, once);
      return rate(await timed(durationMs, once));
    }
    case "upload": {
      await using proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
      await proxy._pyroBind();
      const data = patternBytes(bulkBytes);
      const once = async () => {
        const n = await proxy.upload(data);
        if (n !== bulkBytes) throw new Error(`upload: server got ${n} bytes`);
        return bulkBytes;
      };
      await timed(Math.min(warmupMs, 1), once);
      return rate(await timed(durationMs, once), true);
    }
    case "download": {
      await using proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
      await proxy._pyroBind();
      const once = async () => {
        const data = await proxy.download(bulkBytes);
        if (!(data instanceof Uint8Array) || data.length !== bulkBytes) {
          throw new Error("download: wrong data");
        }
        return bulkBytes;
      };
      await timed(Math.min(warmupMs, 1), once);
      return rate(await timed(durationMs, once), true);
    }
    case "iterator": {
      await using proxy = new PyroProxy(uri, { serializer, config: proxyConfig });
      await proxy._pyroBind();
      const stream = await proxy.iterate(ITERATOR_ITEMS);
      if (!(stream instanceof StreamResult)) throw new Error("iterate did not stream");
      const next = async () => {
        const item = await stream.next();
        if (item.done) throw new Error("the stream ended early");
        return 1;
      };
      await timed(warmupMs, next, FAST_STRIDE);
      const r = await timed(durationMs, next, FAST_STRIDE);
      await stream.return();
      return rate(r);
    }
    case "ns": {
      const ns = await locateNS(config.nsHost!, config.nsPort!, { proxyOptions: { serializer } });
      try {
        const once = async () => (await ns.lookup(NS_LOOKUP_NAME), 1);
        await timed(warmupMs, once, FAST_STRIDE);
        return rate(await timed(durationMs, once, FAST_STRIDE));
      } finally {
        ns._pyroRelease();
      }
    }
  }
}

/** Polls the oneway count until it reaches `expected` (or stops changing, for -1). */
async function waitForOneways(proxy: PyroProxy, expected: number, limitMs: number) {
  const deadline = performance.now() + limitMs;
  let last = -1;
  for (;;) {
    const count = await proxy.oneway_count() as number;
    if (count === expected || (expected < 0 && count === last)) return count;
    if (performance.now() > deadline) return count;
    last = count;
    await new Promise((resolve) => setTimeout(resolve, expected < 0 ? 20 : 1));
  }
}

async function pingPong(config: ClientConfig): Promise<RunResult> {
  const conn = await Deno.connect({ hostname: config.host!, port: config.port! });
  conn.setNoDelay(true);
  try {
    await conn.write(new Uint8Array([0x50]));
    const message = new Uint8Array(40);
    const buffer = new Uint8Array(4096);
    const once = async () => {
      await conn.write(message);
      let have = 0;
      while (have < 40) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("ping-pong server closed");
        have += n;
      }
      return 1;
    };
    await timed(config.warmupMs, once);
    const r = await timed(config.durationMs, once);
    return { workload: "pingpong", ops: r.ops, seconds: r.seconds, rate: r.ops / r.seconds };
  } finally {
    conn.close();
  }
}

async function bulkCopy(config: ClientConfig): Promise<RunResult> {
  const chunk = patternBytes(1 << 20);
  const copy = async (ms: number) => {
    const conn = await Deno.connect({ hostname: config.host!, port: config.port! });
    try {
      await conn.write(new Uint8Array([0x42]));
      const start = performance.now();
      let sent = 0;
      do {
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
        sent += chunk.length;
      } while (performance.now() - start < ms);
      await conn.closeWrite();
      const answer = new Uint8Array(8);
      let have = 0;
      while (have < 8) {
        const n = await conn.read(answer.subarray(have));
        if (n === null) throw new Error("bulk server closed early");
        have += n;
      }
      const seconds = (performance.now() - start) / 1000;
      const got = Number(new DataView(answer.buffer).getBigUint64(0));
      if (got !== sent) throw new Error(`bulk: sent ${sent}, server got ${got}`);
      return { ops: sent, seconds };
    } finally {
      conn.close();
    }
  };
  await copy(config.warmupMs);
  const r = await copy(config.durationMs);
  return { workload: "bulk", ops: r.ops, seconds: r.seconds, rate: r.ops / MB / r.seconds };
}

/**
 * Requests/s through an HTTP gateway (`GET .../http.bench/http_echo?message=hello`) with
 * `clients` concurrent clients, each sending its next request when its answer has arrived.
 * Every answer is checked; one wrong answer fails the figure.
 */
async function httpLoad(config: ClientConfig, clients: number): Promise<RunResult> {
  const url = `${config.uri}http.bench/http_echo?message=hello`;
  const once = async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    const text = await response.text();
    if (response.status !== 200 || text !== '"hello"') {
      throw new Error(`the gateway answered ${response.status}: ${text.slice(0, 200)}`);
    }
  };
  const run = async (ms: number) => {
    let ops = 0;
    const start = performance.now();
    const end = start + ms;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        await once();
        ops++;
      }
    }));
    return { ops, seconds: (performance.now() - start) / 1000 };
  };
  await run(config.warmupMs);
  const r = await run(config.durationMs);
  return { workload: `gateway${clients}`, ops: r.ops, seconds: r.seconds, rate: r.ops / r.seconds };
}

async function holdIdle(config: ClientConfig): Promise<void> {
  const proxies: PyroProxy[] = [];
  try {
    for (let i = 0; i < (config.connections ?? 1000); i++) {
      const proxy = new PyroProxy(config.uri!, { serializer: config.serializer ?? "msgpack" });
      proxies.push(proxy);
      await proxy._pyroBind();
    }
    emit({ ready: proxies.length });
    await stdinClosed();
  } catch (error) {
    emit({ error: String(error), ready: proxies.length });
  } finally {
    for (const proxy of proxies) proxy._pyroRelease();
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(Deno.args[0]) as ClientConfig;
  if (config.mode === "pingpong") emit(await pingPong(config));
  else if (config.mode === "bulk") emit(await bulkCopy(config));
  else if (config.mode === "idle") await holdIdle(config);
  else if (config.mode === "http") {
    for (const clients of config.clients ?? [1]) {
      try {
        emit(await httpLoad(config, clients));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        emit({ workload: `gateway${clients}`, error: message });
      }
    }
  } else {
    for (const workload of config.workloads ?? []) {
      const na = notApplicable(workload, config.serializer!, "deno");
      if (na !== null) {
        emit({ workload, na });
        continue;
      }
      try {
        emit(await runWorkload(config, workload));
      } catch (error) {
        emit({ workload, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  Deno.exit(0);
}

if (import.meta.main) await main();
