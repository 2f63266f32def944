/**
 * `deno task soak`: a long run of mixed Python and Deno clients against a Deno daemon and name
 * server (tests/soak/_server.ts, its own process), sampling the daemon's memory, open handles and
 * timers, with a closing report that says whether they grew.
 *
 *   deno task soak [--minutes N] [--sample-seconds N] [--deno-clients N] [--python-clients N]
 *                  [--pause-ms N]
 *
 * Deno clients (in this process) connect, call, iterate an item stream and take callbacks, then
 * disconnect, round after round (with a pause of --pause-ms between rounds, 20 by default, to
 * leave the machine some air), alternating serializers and PYRO/PYRONAME URIs. Python Pyro5
 * clients do the same in processes restarted every minute. Each sample (every minute by
 * default) reads the daemon's VmRSS from /proc/<pid>/status, its open file descriptors from
 * /proc/<pid>/fd and its live timers (counted inside it). Exits 1 when something grew or a
 * client round failed. Runs with --allow-all: Deno reads /proc only with it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { PyroProxy } from "../../client.ts";
import { Daemon, expose } from "../../server.ts";
import { startPython } from "../_peer.ts";
import { type SoakSample, soakVerdict } from "./_report.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "30" },
    "sample-seconds": { type: "string", default: "60" },
    "deno-clients": { type: "string", default: "3" },
    "python-clients": { type: "string", default: "1" },
    "pause-ms": { type: "string", default: "20" },
  },
});
const minutes = Number(flags.minutes);
const sampleMs = Number(flags["sample-seconds"]) * 1000;
const denoClients = Number(flags["deno-clients"]);
const pythonClients = Number(flags["python-clients"]);
const pauseMs = Number(flags["pause-ms"]);
const options = { minutes, sampleMs, denoClients, pythonClients, pauseMs };
for (const [name, value] of Object.entries(options)) {
  if (!Number.isFinite(value) || value < 0) {
    console.error(`soak: bad ${name}: ${value}`);
    Deno.exit(2);
  }
}
let endAt = performance.now() + minutes * 60_000;
const running = () => performance.now() < endAt;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lines of a child's stdout. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      yield buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
    }
  }
}

// The daemon under soak, in its own process.
const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./_server.ts", import.meta.url).pathname],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const serverIn = server.stdin.getWriter();
const serverOut = lines(server.stdout)[Symbol.asyncIterator]();
const { ns, service } = JSON.parse((await serverOut.next()).value) as {
  ns: string;
  service: string;
};
const nsAddress = ns.slice(ns.indexOf("@") + 1);

const counts = { denoRounds: 0, pythonRounds: 0, errors: 0, pythonRuns: 0 };
const errors: string[] = [];
function failed(who: string, error: unknown): void {
  counts.errors++;
  if (errors.length < 10) errors.push(`${who}: ${error}`);
}

/** The callback object Deno clients hand to the service (registered per round). */
@expose
class Pinger {
  ping(i: number): number {
    return i * 2;
  }
}

const SERIALIZERS = ["serpent", "json", "marshal", "msgpack"] as const;

/** One Deno round: connect, call, item stream, callback, disconnect. */
async function denoRound(callbacks: Daemon, n: number, round: number): Promise<void> {
  const pinger = new Pinger();
  callbacks.register(pinger);
  try {
    const uri = round % 2 ? service : `PYRONAME:soak.service@${nsAddress}`;
    const serializer = SERIALIZERS[(round + n) % 4];
    await using proxy = new PyroProxy(uri, { serializer, timeout: 10, callbackDaemon: callbacks });
    const payload = "x".repeat([1, 100, 10_000][round % 3]);
    if (await proxy.echo(payload) !== payload) throw new Error("echo gave something else");
    let items = 0;
    for await (const _ of await proxy.numbers(20)) items++;
    if (items !== 20) throw new Error(`stream gave ${items} items`);
    if (await proxy.notify(pinger, 3) !== 6) throw new Error("callback sum wrong");
    counts.denoRounds++;
  } finally {
    callbacks.unregister(pinger);
  }
}

async function denoClient(n: number): Promise<void> {
  await using callbacks = new Daemon({ host: "127.0.0.1", port: 0 });
  for (let round = 0; running(); round++) {
    try {
      await denoRound(callbacks, n, round);
      await sleep(pauseMs);
    } catch (error) {
      failed(`deno client ${n}`, error);
      await sleep(500);
    }
  }
}

/** One Python client process, running rounds for some seconds. */
async function pythonRun(n: number, seconds: number): Promise<void> {
  const host = nsAddress.slice(0, nsAddress.lastIndexOf(":"));
  const port = nsAddress.slice(nsAddress.lastIndexOf(":") + 1);
  const script = new URL("./_python_client.py", import.meta.url).pathname;
  const child = await startPython([script, host, port, String(seconds), String(pauseMs)]);
  await child.stdin.close();
  counts.pythonRuns++;
  let report = "";
  for await (const line of lines(child.stdout)) report = line;
  const status = await child.status;
  try {
    const result = JSON.parse(report) as { rounds: number; errors: number; first_error: string };
    counts.pythonRounds += result.rounds;
    for (let e = 0; e < result.errors; e++) failed(`python client ${n}`, result.first_error);
  } catch {
    failed(`python client ${n}`, `exit ${status.code}, no report`);
  }
}

async function pythonClient(n: number): Promise<void> {
  while (running()) {
    await pythonRun(n, Math.max(1, Math.min(60, (endAt - performance.now()) / 1000)));
  }
}

async function sample(minute: number): Promise<SoakSample> {
  const pid = server.pid;
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  let fds = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
  await serverIn.write(new TextEncoder().encode("sample\n"));
  const { timers } = JSON.parse((await serverOut.next()).value) as { timers: number };
  return { minute, rssMib: rssKib / 1024, fds, timers, ...counts };
}

function show(s: SoakSample): string {
  return `${s.minute.toFixed(1).padStart(6)} min  rss ${s.rssMib.toFixed(1).padStart(7)} MiB  ` +
    `fds ${String(s.fds).padStart(4)}  timers ${String(s.timers).padStart(4)}  ` +
    `deno rounds ${String(s.denoRounds).padStart(7)}  python rounds ${
      String(s.pythonRounds).padStart(6)
    }  errors ${s.errors}`;
}

console.log(
  `soak: ${minutes} min, ${denoClients} Deno + ${pythonClients} Python clients, ` +
    `daemon pid ${server.pid}, sample every ${sampleMs / 1000} s`,
);
// Warm-up: a few rounds of each kind, so that what the daemon's process makes once on first
// use (Deno's runtime keeps a pipe and a socket pair) is in the idle sample; then idle.
{
  await using callbacks = new Daemon({ host: "127.0.0.1", port: 0 });
  for (let round = 0; round < 8; round++) await denoRound(callbacks, 0, round);
}
await pythonRun(0, 1);
await sleep(2000);
const started = performance.now();
endAt = started + minutes * 60_000;
const samples: SoakSample[] = [await sample(0)];
console.log(`${show(samples[0])}  (idle, after a warm-up)`);
const clients = [
  ...Array.from({ length: denoClients }, (_, n) => denoClient(n)),
  ...Array.from({ length: pythonClients }, (_, n) => pythonClient(n)),
];
while (running()) {
  await sleep(Math.min(sampleMs, Math.max(0, endAt - performance.now())));
  if (!running()) break;
  const s = await sample((performance.now() - started) / 60_000);
  samples.push(s);
  console.log(show(s));
}
await Promise.all(clients);
await sleep(2000); // connections of the last rounds close
const last = await sample((performance.now() - started) / 60_000);
samples.push(last);
console.log(`${show(last)}  (clients stopped)`);
await serverIn.close();
await server.status;

const verdict = soakVerdict(samples);
console.log("\nclosing report");
for (const line of verdict.lines) console.log(`  ${line}`);
for (const error of errors) console.log(`  error: ${error}`);
console.log(verdict.grew || counts.errors > 0 ? "soak: FAILED" : "soak: no growth, no errors");
Deno.exit(verdict.grew || counts.errors > 0 ? 1 : 0);
