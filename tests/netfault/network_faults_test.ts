/**
 * Network faults between a Deno daemon (+ name server) and Deno proxies, each in a network
 * namespace this test makes (tests/netfault/_netns.ts): delay, loss and reorder, partitions by
 * 100% loss and by link down, healing. Calls complete or fail with a CommunicationError (a
 * TimeoutError for a silent peer) within COMMTIMEOUT; a non-idempotent call runs at most once
 * unless MAX_RETRIES asks for retries; proxies, the daemon and the name server work again once
 * the link heals. Skipped, with the reason, where namespaces cannot be made (not root...).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { sleep } from "../_support_rpc.ts";
import type { ClientAnswer, ClientCommand } from "./_client.ts";
import { NetnsLink, netnsUnavailable } from "./_netns.ts";

const unavailable = await netnsUnavailable();
if (unavailable) console.warn(`network fault tests skipped: ${unavailable}`);

/** COMMTIMEOUT of the proxies, seconds; slack for a loaded machine on top of it. */
const TIMEOUT = 2;
const SLACK_MS = 1500;

/** A Deno program in a namespace, spoken to in JSON lines. */
class Program implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  readonly #waiting = new Map<number, (answer: ClientAnswer) => void>();
  #nextId = 1;
  #reading?: Promise<void>;

  constructor(link: NetnsLink, namespace: string, script: string, args: string[] = []) {
    const path = new URL(script, import.meta.url).pathname;
    this.#child = link.command(namespace, [Deno.execPath(), "run", "-A", path, ...args], {
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
  }

  /** The next line the program prints (before answers are read). */
  async line(limitMs = 20_000): Promise<string> {
    const next = await Promise.race([this.#lines.next(), sleep(limitMs).then(() => null)]);
    if (!next || next.done) throw new Error("The program printed nothing");
    return next.value;
  }

  /** Sends a command and waits for its answer. */
  call(command: Omit<ClientCommand, "id">): Promise<ClientAnswer> {
    this.#reading ??= this.#read();
    const id = this.#nextId++;
    const answer = new Promise<ClientAnswer>((resolve) => this.#waiting.set(id, resolve));
    this.#stdin.write(new TextEncoder().encode(JSON.stringify({ ...command, id }) + "\n"));
    return answer;
  }

  async #read(): Promise<void> {
    for (let next = await this.#lines.next(); !next.done; next = await this.#lines.next()) {
      const answer = JSON.parse(next.value) as ClientAnswer;
      this.#waiting.get(answer.id)?.(answer);
      this.#waiting.delete(answer.id);
    }
  }

  /** Closes its stdin (it ends), kills it (by its PID) if it does not end in time. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const ended = await Promise.race([this.#child.status, sleep(5000).then(() => null)]);
    if (!ended) {
      this.#child.kill("SIGKILL");
      await this.#child.status;
    }
    await this.#reading;
    await this.#child.stdout.cancel().catch(() => {});
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
}

/** The answer's value; fails with the error when the call did not complete. */
function value(answer: ClientAnswer): unknown {
  if (!answer.ok) throw new Error(`Call failed: ${answer.error}: ${answer.message}`);
  return answer.value;
}

/** Asserts a call failed with a CommunicationError within COMMTIMEOUT (+ slack). */
function failedInTime(answer: ClientAnswer, what: string, timeoutError = true): void {
  ok(!answer.ok, `${what}: completed (${JSON.stringify(answer)})`);
  ok(answer.communication, `${what}: ${answer.error}: ${answer.message}`);
  if (timeoutError) strictEqual(answer.error, "TimeoutError", `${what}: ${answer.message}`);
  ok(answer.ms <= TIMEOUT * 1000 + SLACK_MS, `${what}: took ${answer.ms} ms`);
}

Deno.test({
  name: "network faults: calls complete or fail in time, run at most once, and recover",
  ignore: unavailable !== null,
  async fn(t) {
    const started = performance.now();
    await using link = await NetnsLink.create();
    await using server = new Program(link, link.server, "./_server.ts", [link.serverIp]);
    const { ns, counter } = JSON.parse(await server.line()) as { ns: string; counter: string };
    await using client = new Program(link, link.client, "./_client.ts");
    const proxy = (name: string, uri = counter, maxRetries = 0, timeout = TIMEOUT) =>
      client.call({ op: "proxy", name, uri, timeout, maxRetries }).then(value);
    const call = (name: string, method: string, ...args: unknown[]) =>
      client.call({ op: "call", name, method, args });
    const count = async () => value(await call("check", "count")) as number;
    await proxy("check");

    if (!link.netem) {
      console.warn("no tc netem in this kernel: faults come from tbf instead (no reordering)");
    }
    await t.step("a slow, lossy link: each call completes or fails in time", async () => {
      const how = await link.degrade();
      await proxy("lossy");
      const before = await count();
      const answers: ClientAnswer[] = [];
      for (let i = 0; i < 20; i++) answers.push(await call("lossy", "increment"));
      // A large argument and result, to fill the link's queue.
      const big = "x".repeat(30_000);
      const echo = await call("lossy", "echo", big);
      await link.heal();
      if (echo.ok) strictEqual(echo.value, big);
      else failedInTime(echo, `big echo over ${how}`, false);
      for (const answer of answers) if (!answer.ok) failedInTime(answer, "lossy call", false);
      const done = answers.filter((a) => a.ok).map((a) => a.value as number);
      ok(done.length >= 10, `only ${done.length} of 20 calls completed over ${how}`);
      deepStrictEqual([...new Set(done)], done, "a count came back twice");
      await sleep(500); // requests of failed calls may still arrive
      const ran = await count() - before;
      ok(ran >= done.length && ran <= answers.length, `${ran} ran for ${done.length} completed`);
    });

    await t.step(
      "partition: TimeoutError within COMMTIMEOUT, at most once, then the proxy reconnects",
      async () => {
        await proxy("part");
        const first = value(await call("part", "increment")) as number;
        await link.partition();
        failedInTime(await call("part", "increment"), "call across a partition");
        await link.heal();
        // The next call reconnects. The cut call's request may still arrive later (TCP sends
        // what the closed socket held once the link heals): it runs at most once.
        const next = value(await call("part", "increment")) as number;
        ok(next === first + 1 || next === first + 2, `next call gave ${next} after ${first}`);
        await sleep(3500); // past TCP's retransmissions
        const ran = await count() - first;
        ok(ran === 2 || ran === 3, `two calls completed, one cut: the counter ran ${ran} times`);
      },
    );

    await t.step("partition in the middle of a call: it ran exactly once", async () => {
      const before = await count();
      const cut = call("part", "slowIncrement", 700);
      await sleep(300); // the request is there; the reply will be lost
      await link.partition();
      failedInTime(await cut, "call cut by a partition");
      await link.heal();
      await sleep(300);
      strictEqual(await count(), before + 1);
    });

    await t.step("a timed-out call runs once; again only when MAX_RETRIES asks", async () => {
      // Each attempt outlasts the 1 s timeout: the proxy gives up on it and (with retries)
      // sends the call again on a new connection, while the daemon still runs the first.
      for (const retries of [0, 2]) {
        await proxy(`retries${retries}`, counter, retries, 1);
        const before = await count();
        const answer = await call(`retries${retries}`, "slowIncrement", 1300);
        ok(!answer.ok && answer.error === "TimeoutError", JSON.stringify(answer));
        ok(answer.ms <= (retries + 1) * 1000 + SLACK_MS, `took ${answer.ms} ms`);
        await sleep(1800);
        strictEqual(await count() - before, retries + 1, `with MAX_RETRIES ${retries}`);
      }
    });

    await t.step("link down: calls fail in time; _pyroReconnect restores the proxy", async () => {
      await link.clientLink(false);
      failedInTime(await call("part", "increment"), "call with the link down", false);
      const reconnect = client.call({ op: "reconnect", name: "part", tries: 20, delay: 0.25 });
      await sleep(1000);
      await link.clientLink(true);
      value(await reconnect);
      const before = await count();
      strictEqual(value(await call("part", "increment")), before + 1);
    });

    await t.step(
      "name server: a lookup fails in time across a partition, works after",
      async () => {
        await proxy("ns", ns);
        strictEqual(value(await call("ns", "lookup", "netfault.counter")), counter);
        await link.partition();
        failedInTime(await call("ns", "lookup", "netfault.counter"), "lookup across a partition");
        await link.heal();
        strictEqual(value(await call("ns", "lookup", "netfault.counter")), counter);
      },
    );

    await t.step("the daemon serves new proxies after all that", async () => {
      await proxy("fresh");
      const now = value(await call("fresh", "count")) as number;
      strictEqual(value(await call("fresh", "increment")), now + 1);
      strictEqual(value(await call("fresh", "echo", "still here")), "still here");
    });
    const seconds = (performance.now() - started) / 1000;
    ok(seconds < 60, `the network fault test took ${seconds} s`);
  },
});
