/**
 * The message bus with Deno publishers and subscribers over real sockets: the example's wire API,
 * order per topic, patterns, back-pressure, dead and slow subscribers, sqlite persistence.
 *
 * Permissions: `--allow-net=127.0.0.1 --allow-read --allow-write` (temporary sqlite files).
 */
import assert from "node:assert";
import { DatabaseSync } from "node:sqlite";
import {
  type BusMessage,
  MessageBus,
  MessageBusClient,
  SqliteBusStorage,
  startMessageBus,
  type Subscription,
} from "../messagebus.ts";
import { Daemon, expose } from "../server.ts";
import { PyroProxy } from "../client.ts";
import { RemoteError } from "../errors.ts";
import { ClassRegistry } from "../serializers/classes.ts";
import { MESSAGE_CLASS } from "../messagebus/bus.ts";
import { sleep, waitFor } from "./_support_rpc.ts";

async function take(sub: Subscription, count: number, limitMs = 15_000): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const deadline = AbortSignal.timeout(limitMs);
  while (got.length < count) {
    const next = await Promise.race([
      sub.next(),
      new Promise<never>((_, reject) =>
        deadline.addEventListener("abort", () => reject(new Error(`only ${got.length}/${count}`)))
      ),
    ]);
    if (next.done) break;
    got.push(next.value);
  }
  return got;
}

/** A subscriber as Pyro5's example makes them: only `incoming_message`. */
class SingleSubscriber {
  received: [string, unknown][] = [];
  @expose
  incoming_message(topic: string, message: unknown): void {
    this.received.push([topic, message]);
  }
}

function quietBus(options: Parameters<typeof startMessageBus>[0] = {}) {
  const warnings: string[] = [];
  const started = startMessageBus({
    host: "127.0.0.1",
    port: 0,
    nameServer: false,
    onWarning: (line) => warnings.push(line),
    ...options,
  });
  return { started, warnings };
}

Deno.test("MessageBus: the example's wire API over a proxy", async () => {
  const { started } = quietBus();
  await using running = await started;
  await using bus = new PyroProxy(running.uri);
  await bus.add_topic("weather-forecast");
  await bus.add_topic("weather-forecast");
  assert.deepStrictEqual(await bus.topics(), new Set(["weather-forecast"]));
  await assert.rejects(bus.send("no-such-topic", 1), (e: unknown) => {
    assert(e instanceof RemoteError && e.name === "KeyError");
    return true;
  });
  await assert.rejects(bus.add_topic(42), { name: "TypeError" });
  await assert.rejects(bus.subscribe("weather-forecast", "not a proxy"), { name: "TypeError" });
  await assert.rejects(bus.subscribe_pattern("(", new PyroProxy("PYRO:x@127.0.0.1:1")), {
    name: "RangeError", // builtins.ValueError,
  });

  await using daemon = new Daemon({
    host: "127.0.0.1",
    classes: new ClassRegistry().registerDictToClass(MESSAGE_CLASS, (_n, d) => d),
  });
  const subscriber = new SingleSubscriber();
  daemon.register(subscriber);
  await using caller = new PyroProxy(running.uri, { callbackDaemon: daemon });
  await caller.subscribe("weather-forecast", subscriber);
  await assert.rejects(caller.remove_topic("weather-forecast"), { name: "RangeError" });
  for (let i = 0; i < 20; i++) await bus.send("weather-forecast", ["Amsterdam", i]);
  await bus.send_no_ack("weather-forecast", ["Amsterdam", 20]);
  await waitFor(() => subscriber.received.length === 21, 10_000);
  const [topic, message] = subscriber.received[0] as [string, Record<string, unknown>];
  assert.equal(topic, "weather-forecast");
  assert.equal(message.__class__, "Pyro5.utils.messagebus.message");
  assert.match(String(message.msgid), /^[0-9a-f-]{36}$/);
  assert.match(String(message.created), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  assert.deepStrictEqual(
    subscriber.received.map(([, m]) => (m as { data: unknown[] }).data[1]),
    Array.from({ length: 21 }, (_, i) => i),
  );
  await caller.unsubscribe("weather-forecast", subscriber);
  await bus.send("weather-forecast", ["Amsterdam", 99]);
  await sleep(200);
  assert.equal(subscriber.received.length, 21);
  await bus.remove_topic("weather-forecast");
  assert.equal((await bus.topics()).length, 0); // serpent: an empty set travels as ()
  assert.equal((await bus.stats()).subscribers, 0);
  await assert.rejects(bus.close(), /close/); // local only
});

Deno.test("MessageBusClient: publish and subscribe, exact and by pattern, in order", async () => {
  const { started } = quietBus();
  await using running = await started;
  await using publisher = new MessageBusClient(running.uri, { host: "127.0.0.1" });
  await using consumer = new MessageBusClient(running.uri, { host: "127.0.0.1" });
  const all = consumer.subscribe("weather\\..*");
  const amsterdam = consumer.subscribe("weather.amsterdam", { exact: true });
  const other = consumer.subscribe("sports");
  await Promise.all([all.ready, amsterdam.ready, other.ready]);
  const sent: [string, number][] = [];
  for (let i = 0; i < 300; i++) {
    const topic = i % 3 === 0 ? "weather.amsterdam" : "weather.paris";
    sent.push([topic, i]);
    if (i % 2) await publisher.publish(topic, i);
    else await publisher.publishNoAck(topic, i);
  }
  const got = await take(all, 300);
  for (const topic of ["weather.amsterdam", "weather.paris"]) {
    assert.deepStrictEqual(
      got.filter((m) => m.topic === topic).map((m) => m.data),
      sent.filter(([t]) => t === topic).map(([, i]) => i),
    );
  }
  assert.deepStrictEqual(
    (await take(amsterdam, 100)).map((m) => m.data),
    sent.filter(([t]) => t === "weather.amsterdam").map(([, i]) => i),
  );
  assert(got.every((m) => m.created instanceof Date && !isNaN(m.created.getTime())));
  assert.equal(other.buffered, 0);
  await all.close();
  await amsterdam.close();
  await other.close();
  await waitFor(() => running.bus.stats().subscribers === 0, 5000);
});

Deno.test("Subscription: back-pressure holds the bus's calls, the bus drops a subscriber whose queue is full", async () => {
  const { started, warnings } = quietBus({ maxQueue: 50, maxBatch: 10 });
  await using running = await started;
  await using client = new MessageBusClient(running.uri, { host: "127.0.0.1" });
  const slow = client.subscribe("t", { exact: true, highWaterMark: 20 });
  const fast = client.subscribe("t", { exact: true, highWaterMark: 1000 });
  await Promise.all([slow.ready, fast.ready]);
  for (let i = 0; i < 60; i++) {
    running.bus.publish("t", i);
    if (i % 10 === 9) await running.bus.drained(50); // the slow one never drains: bounded wait
  }
  // The fast one gets everything while the slow one, never read, holds its buffer at the mark.
  assert.deepStrictEqual((await take(fast, 60)).map((m) => m.data), [...Array(60).keys()]);
  await waitFor(() => slow.buffered >= 20, 5000);
  await sleep(100);
  assert(slow.buffered < 20 + 10, `buffered ${slow.buffered}`);
  for (let i = 60; i < 200; i++) {
    running.bus.publish("t", i);
    if (i % 10 === 9) await running.bus.drained(50);
  }
  await waitFor(() => running.bus.stats().dropped === 1, 5000);
  assert.match(warnings.join("\n"), /queue is full \(50 messages\)/);
  assert.equal((await take(fast, 140)).length, 140);
  await slow.close();
  await fast.close();
});

Deno.test("MessageBus: a dead subscriber is dropped after maxFailures, others keep getting theirs", async () => {
  const { started, warnings } = quietBus({ maxFailures: 3, retryDelay: 20 });
  await using running = await started;
  await using client = new MessageBusClient(running.uri, { host: "127.0.0.1" });
  const alive = client.subscribe("t", { exact: true });
  await alive.ready;
  const daemon = new Daemon({ host: "127.0.0.1" });
  const doomed = new SingleSubscriber();
  daemon.register(doomed);
  {
    await using caller = new PyroProxy(running.uri, { callbackDaemon: daemon });
    await caller.subscribe("t", doomed);
  }
  await daemon.close();
  for (let i = 0; i < 10; i++) running.bus.publish("t", i);
  assert.deepStrictEqual((await take(alive, 10)).map((m) => m.data), [...Array(10).keys()]);
  await waitFor(() => running.bus.stats().dropped === 1, 5000);
  assert.equal(running.bus.stats().subscribers, 1);
  assert.match(warnings.at(-1)!, /3 failed deliveries/);
  await alive.close();
});

Deno.test("SqliteBusStorage: a reopened bus delivers what was not delivered, to the subscribers it remembers", async () => {
  const file = await Deno.makeTempFile({ suffix: ".sqlite" });
  try {
    await using daemon = new Daemon({
      host: "127.0.0.1",
      classes: new ClassRegistry().registerDictToClass(MESSAGE_CLASS, (_n, d) => d),
    });
    const subscriber = new SingleSubscriber();
    const subscriberUri = daemon.register(subscriber);
    {
      // A bus whose deliveries all fail for now: the subscriber's daemon refuses the object.
      let failures = 0;
      const bus = new MessageBus({
        storage: new SqliteBusStorage(file),
        maxFailures: 1000,
        retryDelay: 50,
        onWarning: () => failures++,
      });
      daemon.unregister(subscriber);
      bus.subscribe("t", new PyroProxy(subscriberUri));
      bus.subscribe_pattern("u.*", new PyroProxy(subscriberUri));
      for (let i = 0; i < 5; i++) bus.publish("t", { n: i, tup: [i, "x"] });
      bus.add_topic("u1");
      bus.publish("u1", new Uint8Array([1, 2, 3]));
      await waitFor(() => failures >= 2, 5000);
      bus.close();
    }
    daemon.register(subscriber, subscriberUri.object);
    const bus = new MessageBus({ storage: new SqliteBusStorage(file), onWarning: () => {} });
    try {
      assert.deepStrictEqual([...bus.topics()].sort(), ["t", "u1"]);
      await waitFor(() => subscriber.received.length === 6, 10_000);
      assert.deepStrictEqual(
        subscriber.received.map(([t, m]) => [t, (m as { data: unknown }).data]),
        [
          ["t", { n: 0, tup: [0, "x"] }],
          ["t", { n: 1, tup: [1, "x"] }],
          ["t", { n: 2, tup: [2, "x"] }],
          ["t", { n: 3, tup: [3, "x"] }],
          ["t", { n: 4, tup: [4, "x"] }],
          ["u1", new Uint8Array([1, 2, 3])],
        ],
      );
      bus.add_topic("u2");
      bus.publish("u2", "pattern remembered");
      await waitFor(() => subscriber.received.length === 7, 10_000);
      await waitFor(() => bus.stats().pending === 0, 10_000); // its answer is in, too
    } finally {
      bus.close();
    }
    const again = new SqliteBusStorage(file);
    const state = again.load();
    again.close();
    assert.equal(state.pending.size, 0);
    assert.equal(state.subscriptions.length, 2);
  } finally {
    await Deno.remove(file);
    await Deno.remove(`${file}-wal`).catch(() => {});
    await Deno.remove(`${file}-shm`).catch(() => {});
  }
});

Deno.test("SqliteBusStorage: refuses a database of another application and :memory:", async () => {
  assert.throws(() => new SqliteBusStorage(":memory:"), RangeError);
  const file = await Deno.makeTempFile({ suffix: ".sqlite" });
  try {
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    db.close();
    assert.throws(() => new SqliteBusStorage(file), /Refusing to use .* other tables \(accounts\)/);
  } finally {
    await Deno.remove(file);
  }
});
