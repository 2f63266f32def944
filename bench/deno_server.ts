/**
 * A server process of the benchmark (started by bench/main.ts, one JSON argument):
 *
 * - `{"mode":"daemon"}`: a {@linkcode Daemon} serving {@linkcode BenchService} as
 *   `bench.service`;
 * - `{"mode":"ns"}`: a name server (memory storage, no broadcast) holding `bench.lookup`;
 * - `{"mode":"gateway"}`: the HTTP gateway in front of a name server and a daemon serving
 *   {@linkcode BenchService} as `http.bench`; the printed `uri` is the gateway's `/pyro/` URL;
 * - `{"mode":"ceiling"}`: a bare TCP server for the ceilings: a connection whose first byte is
 *   `P` echoes 40-byte messages; one whose first byte is `B` counts the bytes it receives until
 *   the end of the stream and answers with the count (8 bytes, big-endian).
 *
 * It listens on 127.0.0.1 (port 0), prints one JSON line `{"host", "port", "uri", "pid"}`, and
 * serves until its stdin is closed. Permissions: `--allow-net=127.0.0.1 --allow-read`.
 *
 * @module
 */
import { Daemon, expose, oneway } from "../server.ts";
import { startNameServer } from "../nameserver.ts";
import { startHttpGateway } from "../httpgateway.ts";
import {
  emit,
  NS_LOOKUP_NAME,
  patternBytes,
  SERVICE_ID,
  stdinClosed,
  tlsServerConfig,
} from "./_common.ts";

/** The object the benchmark calls; bench/py_server.py serves the same in Python. */
@expose
export class BenchService {
  #oneways = 0;
  #blobs = new Map<number, Uint8Array>();

  /** Returns its argument (workloads small, connect, batch). */
  echo(value: unknown): unknown {
    return value;
  }

  /** Returns its argument; the gateway row calls it with the keyword argument `message`. */
  http_echo(message: unknown): unknown {
    return message;
  }

  /** Counts a oneway call (workload oneway). */
  @oneway
  ping(): void {
    this.#oneways++;
  }

  /** How many oneway calls have run. */
  oneway_count(): number {
    return this.#oneways;
  }

  /** Sets the oneway count to zero. */
  reset_count(): number {
    this.#oneways = 0;
    return 0;
  }

  /** Receives bytes, returns their count (workload upload). */
  upload(data: Uint8Array): number {
    return data.length;
  }

  /** Sends `size` bytes (workload download). */
  download(size: number): Uint8Array {
    let blob = this.#blobs.get(size);
    if (blob === undefined) {
      blob = patternBytes(size);
      this.#blobs.set(size, blob);
    }
    return blob;
  }

  /** Yields 0, 1, 2 ... `count - 1` (workload iterator). */
  *iterate(count: number): Generator<number> {
    for (let i = 0; i < count; i++) yield i;
  }
}

interface ServerConfig {
  mode: "daemon" | "ns" | "ceiling" | "gateway";
  /** Most connections the daemon serves at once (the memory test needs more than 80). */
  maxConnections?: number;
  /** Folder of the test certificates: serve TLS with its `server.pem` (mode `daemon`). */
  tls?: string;
}

async function serveCeiling(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(1 << 20);
  try {
    let n = await conn.read(buffer);
    if (n === null || n === 0) return;
    if (buffer[0] === 0x50) { // "P": 40-byte ping-pong; the mode byte came alone
      const message = new Uint8Array(40);
      let have = n - 1;
      for (;;) {
        while (have < 40) {
          n = await conn.read(buffer);
          if (n === null) return;
          have += n;
        }
        have -= 40;
        await conn.write(message);
      }
    } else { // "B": count bytes to the end of the stream
      let total = n - 1;
      for (;;) {
        n = await conn.read(buffer);
        if (n === null) break;
        total += n;
      }
      const answer = new Uint8Array(8);
      new DataView(answer.buffer).setBigUint64(0, BigInt(total));
      await conn.write(answer);
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(Deno.args[0] ?? '{"mode":"daemon"}') as ServerConfig;
  const stop = stdinClosed();
  if (config.mode === "daemon") {
    const daemon = new Daemon({
      host: "127.0.0.1",
      port: 0,
      maxConnections: config.maxConnections ?? 80,
      config: tlsServerConfig(config.tls),
    });
    const uri = daemon.register(new BenchService(), SERVICE_ID);
    emit({ host: uri.host, port: uri.port, uri: uri.toString(), pid: Deno.pid });
    await stop;
    await daemon.close();
  } else if (config.mode === "gateway") {
    const server = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
    const daemon = new Daemon({ host: "127.0.0.1", port: 0 });
    const uri = daemon.register(new BenchService(), SERVICE_ID);
    server.nameserver.register("http.bench", uri.toString());
    const gateway = await startHttpGateway({
      host: "127.0.0.1",
      port: 0,
      nsHost: "127.0.0.1",
      nsPort: server.uri.port!,
      log: () => {},
    });
    emit({ host: "127.0.0.1", port: gateway.addr.port, uri: gateway.url, pid: Deno.pid });
    await stop;
    await gateway.close();
    await daemon.close();
    await server.close();
  } else if (config.mode === "ns") {
    const server = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
    server.nameserver.register(NS_LOOKUP_NAME, `PYRO:${SERVICE_ID}@127.0.0.1:9999`);
    emit({ host: "127.0.0.1", port: server.uri.port, uri: server.uri.toString(), pid: Deno.pid });
    await stop;
    await server.close();
  } else {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    emit({ host: "127.0.0.1", port: listener.addr.port, uri: null, pid: Deno.pid });
    const accepting = (async () => {
      try {
        for await (const conn of listener) serveCeiling(conn);
      } catch {
        // closed
      }
    })();
    await stop;
    listener.close();
    await accepting;
  }
  Deno.exit(0);
}

if (import.meta.main) await main();
