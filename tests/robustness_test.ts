/**
 * Robustness of the daemon: malformed input ends only the connection that sent it, and many
 * concurrent clients (Deno proxies and Python processes) are served while one sits in a slow call.
 */
import assert, { equal, match } from "node:assert";
import { PyroProxy } from "../client.ts";
import { makeConfig } from "../config.ts";
import { SerializeError } from "../errors.ts";
import {
  decodeMessage,
  encodeMessage,
  HEADER_SIZE,
  type Message,
  MessageFlags,
  MessageType,
} from "../protocol/message.ts";
import { createSerializer, type SerializerName } from "../serializers/mod.ts";
import { Daemon } from "../server.ts";
import {
  interopScript,
  runPython,
  SERIALIZERS,
  sleep,
  TestService,
  waitFor,
} from "./_support_rpc.ts";

const SERIALIZER_IDS: Record<SerializerName, number> = {
  serpent: 1,
  marshal: 2,
  json: 3,
  msgpack: 4,
};

function message(type: number, data: Uint8Array, fields: Partial<Message> = {}): Uint8Array {
  return encodeMessage({
    type,
    flags: 0,
    seq: 1,
    serializerId: 3,
    data,
    annotations: new Map(),
    correlationId: null,
    ...fields,
  });
}

function connectMessage(serializer: SerializerName = "json"): Uint8Array {
  const codec = createSerializer(serializer);
  return message(MessageType.CONNECT, codec.dumps({ handshake: "hello", object: "service" }), {
    serializerId: codec.id,
    seq: 0,
  });
}

/** A marker chunk: half-close the connection (end of stream) instead of writing. */
const END_OF_STREAM = new Uint8Array(0);

interface Exchange {
  /** Everything the daemon sent back. */
  received: Uint8Array;
  /** Whether the daemon closed the connection within the time limit. */
  closed: boolean;
}

/**
 * Connects, writes the chunks (pausing between them), then reads until the daemon closes the
 * connection or the time limit passes.
 */
async function exchange(
  addr: Deno.NetAddr,
  chunks: Uint8Array[],
  limitMs = 3000,
): Promise<Exchange> {
  const conn = await Deno.connect({ hostname: addr.hostname, port: addr.port });
  const parts: Uint8Array[] = [];
  let closed = false;
  const timer = setTimeout(() => conn.close(), limitMs);
  try {
    for (const chunk of chunks) {
      if (chunk === END_OF_STREAM) await conn.closeWrite();
      else await conn.write(chunk);
      await sleep(5);
    }
    const buffer = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) {
        closed = true;
        break;
      }
      parts.push(buffer.slice(0, n));
    }
  } catch {
    // closed by our timer (or reset by the daemon)
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // already closed by the timer
    }
  }
  const received = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    received.set(part, offset);
    offset += part.length;
  }
  return { received, closed };
}

/** Splits a byte string into the messages it holds. */
function messages(bytes: Uint8Array): Message[] {
  const result: Message[] = [];
  let offset = 0;
  while (offset + HEADER_SIZE <= bytes.length) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
    const size = HEADER_SIZE + view.getUint32(12) + view.getUint32(16);
    result.push(decodeMessage(bytes.subarray(offset, offset + size)));
    offset += size;
  }
  return result;
}

async function stillServing(uri: string): Promise<void> {
  await using proxy = new PyroProxy(uri, { serializer: "json", timeout: 5 });
  equal(await proxy.add(20, 22), 42);
}

Deno.test("robustness: malformed input closes only that connection", async (t) => {
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(new TestService(), "service").toString();
  const addr = daemon.addr as Deno.NetAddr;
  const valid = message(MessageType.INVOKE, new Uint8Array(10));

  const cases: [string, () => Uint8Array[]][] = [
    ["garbage", () => [new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3))]],
    ["wrong protocol version", () => {
      const bytes = connectMessage();
      new DataView(bytes.buffer).setUint16(4, 501);
      return [bytes];
    }],
    ["wrong magic number", () => {
      const bytes = connectMessage();
      new DataView(bytes.buffer).setUint16(38, 0x1234);
      return [bytes];
    }],
    ["a header declaring 4 GB", () => {
      const bytes = valid.slice(0, HEADER_SIZE);
      new DataView(bytes.buffer).setUint32(12, 0xffffffff);
      return [bytes, new Uint8Array(1000)];
    }],
    ["annotations running past the message", () => {
      const bytes = message(MessageType.CONNECT, new Uint8Array(4));
      const view = new DataView(bytes.buffer);
      view.setUint32(12, 2); // 2 payload bytes after 2 annotation bytes: not a whole chunk
      view.setUint32(16, 2);
      return [bytes];
    }],
    ["a truncated message, then end of stream", () => [
      connectMessage().subarray(0, HEADER_SIZE + 5),
      END_OF_STREAM,
    ]],
    ["an unknown serializer id", () => [
      connectMessage(),
      message(MessageType.INVOKE, valid, {
        serializerId: 99,
      }),
    ]],
    ["a second CONNECT after the handshake", () => [connectMessage(), connectMessage()]],
    ["a RESULT message from a client", () => [
      connectMessage(),
      message(MessageType.RESULT, new Uint8Array(3)),
    ]],
  ];
  for (const [name, makeChunks] of cases) {
    await t.step(name, async () => {
      const rssBefore = Deno.memoryUsage().rss;
      const { closed } = await exchange(addr, makeChunks());
      assert(closed, "the daemon kept the connection open");
      assert(Deno.memoryUsage().rss - rssBefore < 256 * 1024 * 1024, "memory grew");
      await stillServing(uri);
    });
  }

  await t.step("a call before the handshake gets CONNECT_FAIL, then the close", async () => {
    const { received, closed } = await exchange(addr, [valid]);
    assert(closed);
    const [reply] = messages(received);
    equal(reply.type, MessageType.CONNECT_FAIL);
  });

  for (const serializer of SERIALIZERS) {
    const garbage = new TextEncoder().encode("\u0001\u00ff{[(not a valid payload");
    const id = SERIALIZER_IDS[serializer];
    await t.step(`malformed ${serializer} handshake payload: CONNECT_FAIL`, async () => {
      const bad = message(MessageType.CONNECT, garbage, { serializerId: id, seq: 9 });
      const { received, closed } = await exchange(addr, [bad]);
      assert(closed);
      const [reply] = messages(received);
      equal(reply.type, MessageType.CONNECT_FAIL);
      equal(reply.seq, 9);
      equal(reply.serializerId, id);
      equal(typeof createSerializer(serializer).loads(reply.data), "string");
      await stillServing(uri);
    });
    await t.step(`malformed ${serializer} call payload: error reply, then closed`, async () => {
      const bad = message(MessageType.INVOKE, garbage, { serializerId: id, seq: 77 });
      const { received, closed } = await exchange(addr, [connectMessage(serializer), bad]);
      assert(closed);
      const replies = messages(received);
      equal(replies.length, 2);
      equal(replies[0].type, MessageType.CONNECT_OK);
      equal(replies[1].type, MessageType.RESULT);
      equal(replies[1].seq, 77);
      equal(replies[1].flags & MessageFlags.EXCEPTION, MessageFlags.EXCEPTION);
      const error = createSerializer(serializer).loads(replies[1].data);
      assert(error instanceof SerializeError, String(error));
      await stillServing(uri);
    });
  }

  await t.step("a compressed payload that does not inflate", async () => {
    const bad = message(MessageType.INVOKE, new Uint8Array(200).fill(7), {
      flags: MessageFlags.COMPRESSED,
    });
    // encodeMessage clears the flag without compression: set it on the wire.
    new DataView(bad.buffer).setUint16(8, MessageFlags.COMPRESSED);
    const { closed } = await exchange(addr, [connectMessage(), bad]);
    assert(closed);
    await stillServing(uri);
  });

  await t.step("half a header, then a stall: others are served meanwhile", async () => {
    const conn = await Deno.connect({ hostname: addr.hostname, port: addr.port });
    try {
      await conn.write(connectMessage().subarray(0, 20));
      await waitFor(() => daemon.connectionCount >= 1);
      await stillServing(uri);
      await stillServing(uri);
    } finally {
      conn.close();
    }
  });
});

Deno.test("robustness: a stalled half header is closed after COMMTIMEOUT", async () => {
  await using daemon = new Daemon({
    host: "127.0.0.1",
    config: makeConfig({ COMMTIMEOUT: 0.2 }),
  });
  const uri = daemon.register(new TestService(), "service").toString();
  const started = performance.now();
  const { closed } = await exchange(daemon.addr as Deno.NetAddr, [
    connectMessage().subarray(0, 20),
  ]);
  assert(closed, "the stalled connection stayed open");
  const elapsed = performance.now() - started;
  assert(elapsed >= 150 && elapsed < 2500, `closed after ${elapsed} ms`);
  await stillServing(uri);
});

Deno.test("robustness: 50 concurrent clients x 200 calls while one sits in slow()", async () => {
  const service = new TestService();
  await using daemon = new Daemon({ host: "127.0.0.1" });
  const uri = daemon.register(service, "service");
  const calls = 200;
  const pythonClients = 5;
  const denoClients = 45;

  await using slowProxy = new PyroProxy(uri, { serializer: "serpent" });
  let slowDone = false;
  const slow = slowProxy.slow(6).then((r: unknown) => {
    slowDone = true;
    return r;
  });
  await waitFor(() => service.slowStarted === 1);

  const started = performance.now();
  const python = Array.from(
    { length: pythonClients },
    (_, i) =>
      runPython(
        [interopScript("load_client.py"), uri.toString(), String(calls), SERIALIZERS[i % 4]],
        60_000,
      ),
  );
  const deno = Array.from({ length: denoClients }, async (_, i) => {
    await using proxy = new PyroProxy(uri, { serializer: SERIALIZERS[i % 4], timeout: 30 });
    for (let call = 0; call < calls; call++) {
      equal(await proxy.add(call, 1), call + 1);
    }
    return performance.now() - started;
  });
  const denoTimes = await Promise.all(deno);
  const pythonRuns = await Promise.all(python);
  const allDone = performance.now() - started;
  for (const run of pythonRuns) {
    equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim());
    assert(result.ok, result.error);
    equal(result.calls, calls);
  }
  assert(!slowDone, `clients waited for the slow call (${allDone} ms)`);
  assert(Math.max(...denoTimes) < 6000);
  match(String(await slow), /Finally, an answer!/);
});
