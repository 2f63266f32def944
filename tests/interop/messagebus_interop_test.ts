/**
 * The message bus with Python Pyro5 clients written as its messagebus example writes them
 * (tests/interop/bus_peer.py: publisher, auto- and manual-consuming subscribers) and Deno ones,
 * mixed on one topic; and its faults: SIGKILL of a sqlite bus under load, a stalled (SIGSTOP)
 * subscriber, a dead one.
 *
 * Permissions: `--allow-all` (Python and deno processes, loopback, temporary sqlite files).
 */
import assert from "node:assert";
import { startNameServer } from "../../nameserver.ts";
import { type BusMessage, MessageBusClient, startMessageBus } from "../../messagebus.ts";
import { repoPath } from "../_peer.ts";
import { waitFor } from "../_support_rpc.ts";
import { type LineProcess, startBusCommand, startPeer } from "./_bus_procs.ts";

function collect(sub: AsyncIterable<BusMessage>, into: BusMessage[]): Promise<void> {
  return (async () => {
    for await (const msg of sub) into.push(msg);
  })();
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test("messagebus: a Python publisher, auto and manual Python subscribers and Deno ones, mixed on one topic, all in order", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
  const nsPort = ns.uri.port!;
  await using running = await startMessageBus({
    host: "127.0.0.1",
    port: 0,
    nameServer: { host: "127.0.0.1", port: nsPort },
  });
  const TOPIC = "weather-forecast";
  const PER_PUBLISHER = 60;
  const total = 2 * PER_PUBLISHER;
  const peers: LineProcess[] = [];
  try {
    const auto = await startPeer(["subscribe", TOPIC, String(total), "auto"], nsPort);
    peers.push(auto);
    const manual = await startPeer(["subscribe", TOPIC, String(total), "manual"], nsPort);
    peers.push(manual);
    await using client = new MessageBusClient(`PYRONAME:Pyro.MessageBus@127.0.0.1:${nsPort}`, {
      host: "127.0.0.1",
    });
    const exact = client.subscribe(TOPIC, { exact: true });
    const byPattern = client.subscribe("weather-.*");
    await Promise.all([exact.ready, byPattern.ready]);
    for (const peer of [auto, manual]) await peer.waitForLine(/^ready PYRO:/);
    const exactGot: BusMessage[] = [];
    const patternGot: BusMessage[] = [];
    const collecting = [collect(exact, exactGot), collect(byPattern, patternGot)];

    // A Python publisher (send and send_no_ack alternating) and a Deno one, at the same time.
    const python = await startPeer(["publish", TOPIC, String(PER_PUBLISHER), "mixed"], nsPort);
    peers.push(python);
    for (let i = 0; i < PER_PUBLISHER; i++) await client.publish(TOPIC, ["deno", i]);
    assert.equal(await python.done(60_000), 0, python.stderr);

    for (const peer of [auto, manual]) {
      assert.equal(await peer.done(60_000), 0, peer.stderr);
      assert.equal(peer.lines.at(-1), "done");
    }
    await waitFor(() => exactGot.length === total && patternGot.length === total, 30_000);
    await exact.close();
    await byPattern.close();
    await Promise.all(collecting);

    // The bus's order is one order: every subscriber saw exactly the same sequence...
    const denoSeq = exactGot.map((m) => `${m.id} ${JSON.stringify(m.data)}`);
    assert.deepStrictEqual(patternGot.map((m) => `${m.id} ${JSON.stringify(m.data)}`), denoSeq);
    for (const peer of [auto, manual]) {
      const seq = peer.messages().map((m) => `${m.msgid} ${JSON.stringify(m.data)}`);
      assert.deepStrictEqual(seq, denoSeq);
      assert(peer.messages().every((m) => m.topic === TOPIC));
    }
    // ... in which each publisher's messages are in the order sent.
    for (const label of ["deno", "py"]) {
      assert.deepStrictEqual(
        exactGot.filter((m) => (m.data as unknown[])[0] === label).map((m) =>
          (m.data as unknown[])[1]
        ),
        [...Array(PER_PUBLISHER).keys()],
        label,
      );
    }
    // Python read `created` as a datetime, the same instant we did.
    const first = auto.messages()[0];
    assert.equal(
      new Date(`${first.created.slice(0, 23)}Z`).getTime(),
      exactGot[0].created.getTime(),
    );
    // The Python subscribers unsubscribed when done; the Deno ones when closed.
    await waitFor(() => running.bus.stats().subscribers === 0, 10_000);
  } finally {
    for (const peer of peers) await peer.stop();
  }
});

Deno.test("messagebus: SIGKILL of a sqlite bus under load, restarted: every acknowledged message arrives, in order", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
  const nsPort = ns.uri.port!;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/bus.sqlite`;
  const port = freePort();
  const busArgs = ["-n", "127.0.0.1", "-p", String(port), "-s", `sqlite:${file}`];
  let { bus } = await startBusCommand(busArgs, nsPort);
  const busUri = `PYRO:Pyro.MessageBus@127.0.0.1:${port}`;
  const python = await startPeer(["subscribe", "load", "1000000", "auto"], nsPort);
  let publisher: MessageBusClient | null = null;
  let stop = false;
  try {
    await using subscriberSide = new MessageBusClient(busUri, { host: "127.0.0.1" });
    const deno = subscriberSide.subscribe("load", { exact: true });
    await deno.ready;
    await python.waitForLine(/^ready PYRO:/);
    const denoGot: BusMessage[] = [];
    const denoDone = collect(deno, denoGot);

    const acked: number[] = [];
    let failures = 0;
    const publishing = (async () => {
      publisher = new MessageBusClient(busUri, { host: "127.0.0.1" });
      for (let i = 0; !stop;) {
        try {
          await publisher.publish("load", i);
          acked.push(i);
          i++;
        } catch {
          // The bus is down: this one was not acknowledged; send it again (a duplicate if it
          // was stored after all, which at-least-once allows).
          failures++;
          await publisher.close();
          publisher = new MessageBusClient(busUri, { host: "127.0.0.1" });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    })();
    await waitFor(() => acked.length >= 300, 30_000);
    bus.signal("SIGKILL");
    await bus.done();
    const killedAt = acked.length;
    ({ bus } = await startBusCommand(busArgs, nsPort));
    await waitFor(() => acked.length >= killedAt + 300, 30_000);
    stop = true;
    await publishing;
    assert(failures > 0, "the publisher never noticed the kill");

    const wanted = new Set(acked);
    const pyValues = () => python.messages().map((m) => m.data as number);
    await waitFor(
      () =>
        [...wanted].every((v) => denoGot.some((m) => m.data === v)) &&
        new Set(pyValues()).size >= wanted.size,
      30_000,
    ).catch(() => {});
    for (
      const [who, values] of [
        ["deno", denoGot.map((m) => m.data as number)],
        ["python", dedupeById(python.messages())],
      ] as const
    ) {
      const have = new Set(values);
      const missing = acked.filter((v) => !have.has(v));
      assert.deepStrictEqual(missing, [], `${who} lost acknowledged messages`);
      for (let k = 1; k < values.length; k++) {
        assert(values[k] >= values[k - 1], `${who}: ${values[k]} after ${values[k - 1]}`);
      }
    }
    await deno.close();
    await denoDone;
  } finally {
    stop = true;
    await (publisher as MessageBusClient | null)?.close();
    await python.stop();
    await bus.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Values in order of first arrival of each message id (a redelivery is the same id). */
function dedupeById(messages: { msgid: string; data: unknown }[]): number[] {
  const seen = new Set<string>();
  const values: number[] = [];
  for (const m of messages) {
    if (seen.has(m.msgid)) continue;
    seen.add(m.msgid);
    values.push(m.data as number);
  }
  return values;
}

Deno.test("messagebus: a stalled subscriber (SIGSTOP) slows nobody and is dropped when its queue is full; a dead one is dropped", async () => {
  await using ns = await startNameServer({ host: "127.0.0.1", port: 0, enableBroadcast: false });
  const nsPort = ns.uri.port!;
  const warnings: string[] = [];
  await using running = await startMessageBus({
    host: "127.0.0.1",
    port: 0,
    nameServer: { host: "127.0.0.1", port: nsPort },
    maxQueue: 200,
    deliveryTimeout: 120, // far longer than the others may take
    retryDelay: 50,
    onWarning: (line) => warnings.push(line),
  });
  const COUNT = 600;
  const stalled = await startPeer(["subscribe", "t", String(COUNT), "auto"], nsPort);
  const healthy = await startPeer(["subscribe", "t", String(COUNT), "auto"], nsPort);
  const dead = await startPeer(["subscribe", "t", String(COUNT), "auto"], nsPort);
  try {
    await using client = new MessageBusClient(running.uri, { host: "127.0.0.1" });
    const deno = client.subscribe("t", { exact: true });
    await deno.ready;
    const stalledUri = (await stalled.waitForLine(/^ready (PYRO:\S+)/))[1];
    await healthy.waitForLine(/^ready PYRO:/);
    const deadUri = (await dead.waitForLine(/^ready (PYRO:\S+)/))[1];
    assert.equal(running.bus.stats().subscribers, 4);
    stalled.signal("SIGSTOP");
    dead.signal("SIGKILL");
    await dead.done();
    const denoGot: BusMessage[] = [];
    const denoDone = collect(deno, denoGot);

    const started = Date.now();
    for (let i = 0; i < COUNT; i++) await client.publish("t", i);
    assert.equal(await healthy.done(60_000), 0, healthy.stderr);
    await waitFor(() => denoGot.length === COUNT, 60_000);
    const took = Date.now() - started;
    // Had anyone waited for the stalled one, it would have been its 120 s delivery timeout.
    assert(took < 60_000, `took ${took} ms`);
    assert.deepStrictEqual(healthy.messages().map((m) => m.data), [...Array(COUNT).keys()]);
    assert.deepStrictEqual(denoGot.map((m) => m.data), [...Array(COUNT).keys()]);

    await waitFor(() => running.bus.stats().dropped === 2, 10_000);
    const text = warnings.join("\n");
    assert.match(
      text,
      new RegExp(`dropping subscriber ${escapeRegex(stalledUri)}: its queue is full`),
    );
    assert.match(
      text,
      new RegExp(
        `dropping subscriber ${escapeRegex(deadUri)}: (3 failed deliveries|its queue is full)`,
      ),
    );
    await deno.close();
    await denoDone;
    assert.equal(running.bus.stats().subscribers, 0);
  } finally {
    await stalled.stop();
    await healthy.stop();
    await dead.stop();
  }
});

Deno.test("deno task messagebus -h prints its usage; a bad storage is a usage error", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "messagebus", ...args],
      cwd: repoPath("."),
      signal: AbortSignal.timeout(60_000),
    }).output();
  const help = await run(["-h"]);
  assert(help.success);
  assert.match(new TextDecoder().decode(help.stdout), /^usage: messagebus/);
  const bad = await run(["-s", "postgres"]);
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /invalid choice: 'postgres'/);
});
