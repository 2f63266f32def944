/**
 * The side-by-side benchmark (`deno task bench`, `--help` for options): Python Pyro5 5.15 and
 * pyro-deno, in four pairings (Python/Deno client -> Python/Deno daemon), with each serializer,
 * on loopback, plus two bare Deno TCP ceilings and the Deno daemon's memory with idle
 * connections. Prints a table with ratios and the targets (PASS/MISS), or `--json`.
 *
 * Every server and client is its own process (`deno run` or `python3`), pinned per `--pin`
 * (default: client and server both on CPU 0 with `taskset -c 0`, as the reference figures were
 * measured). This coordinator starts them, reads their JSON lines, bounds every wait, and stops
 * everything it started, by PID, in `finally`. Progress goes to stderr.
 *
 * Permissions: `--allow-run --allow-read --allow-env` (it runs deno, python3, taskset, bash
 * and reads /proc for the memory figure; the children get `--allow-net=127.0.0.1`).
 *
 * @module
 */
import type { BenchSerializer, ClientConfig, RunResult, Workload } from "./_common.ts";
import {
  type BenchOptions,
  cpuFor,
  type Pairing,
  PAIRINGS,
  parseOptions,
  USAGE,
} from "./_options.ts";
import { Child, type ChildSpec, hasTaskset, processMemory } from "./_procs.ts";
import {
  type BusRun,
  formatTable,
  GATEWAY_CLIENTS,
  GATEWAY_SERIES,
  type MemoryFigures,
  type RawData,
  resultKey,
  summarize,
  TLS_SERIES,
  TLS_WORKLOADS,
} from "./_report.ts";
import { testCerts } from "../tests/_certs.ts";

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
/** How long a server may take to start and print its address. */
const START_TIMEOUT_MS = 60_000;
/** Beyond warm-up and duration, how long one workload may take (oneway drain, slow bulk calls). */
const WORKLOAD_SLACK_MS = 90_000;

interface ServerInfo {
  child: Child;
  host: string;
  port: number;
  uri: string | null;
}

/** Starts and tracks every child process, so that `finally` can stop them all. */
class Processes {
  #children = new Set<Child>();
  constructor(readonly options: BenchOptions, readonly pythonPath: string) {}

  start(spec: ChildSpec): Child {
    const child = new Child(spec);
    this.#children.add(child);
    child.status.finally(() => this.#children.delete(child));
    return child;
  }

  deno(
    script: string,
    config: unknown,
    role: "client" | "server",
    name: string,
    extraFlags: string[] = [],
  ): Child {
    return this.start({
      command: Deno.execPath(),
      // --allow-read: the TLS runs read their certificates
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read",
        ...extraFlags,
        `${BENCH_DIR}${script}`,
        JSON.stringify(config),
      ],
      cpu: cpuFor(this.options, role),
      name,
    });
  }

  python(script: string, config: unknown, role: "client" | "server", name: string): Child {
    return this.start({
      command: "python3",
      args: [`${BENCH_DIR}${script}`, JSON.stringify(config)],
      env: { PYTHONPATH: this.pythonPath, PYTHONDONTWRITEBYTECODE: "1" },
      cpu: cpuFor(this.options, role),
      name,
    });
  }

  async server(child: Child): Promise<ServerInfo> {
    const line = await child.nextJson(START_TIMEOUT_MS);
    if (!line || typeof line.port !== "number") {
      throw new Error(`${child.name} did not start: ${child.stderrTail || "no output"}`);
    }
    return { child, host: String(line.host), port: line.port, uri: line.uri as string | null };
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => child.stop(1000)));
  }
}

function progress(text: string): void {
  console.error(text);
}

async function run(command: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return { ok: out.success, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function installPeer(): Promise<string> {
  const out = await run("bash", [`${BENCH_DIR}../scripts/install_peer.sh`]);
  const site = out.stdout.split("\n").at(-1)?.trim();
  if (!out.ok || !site) throw new Error(`the Python Pyro5 peer is not available: ${out.stderr}`);
  return site;
}

async function ceilingRun(procs: Processes, raw: RawData): Promise<void> {
  const { options } = raw;
  const server = await procs.server(
    procs.deno("deno_server.ts", { mode: "ceiling" }, "server", "ceiling server"),
  );
  try {
    for (const mode of ["pingpong", "bulk"] as const) {
      const config: ClientConfig = {
        mode,
        host: server.host,
        port: server.port,
        durationMs: options.durationMs,
        warmupMs: options.warmupMs,
      };
      const client = procs.deno("deno_client.ts", config, "client", `${mode} client`);
      try {
        const line = await client.nextJson(
          options.durationMs + options.warmupMs + WORKLOAD_SLACK_MS,
        ) as RunResult | null;
        if (line && typeof line.rate === "number") raw.ceiling[mode].push(line.rate);
        else raw.problems.push(`ceiling ${mode}: no result (${client.stderrTail || "no output"})`);
      } catch (error) {
        raw.problems.push(`ceiling ${mode}: ${(error as Error).message}`);
      } finally {
        await client.stop();
      }
    }
  } finally {
    await server.child.stop();
  }
}

async function clientRun(
  procs: Processes,
  raw: RawData,
  pairing: Pairing,
  serializer: BenchSerializer,
  daemon: ServerInfo | undefined,
  ns: ServerInfo | undefined,
  tls?: { certDir: string; workloads: Workload[] },
): Promise<void> {
  const { options } = raw;
  const config: ClientConfig = {
    mode: "pyro",
    uri: daemon?.uri ?? undefined,
    nsHost: ns?.host,
    nsPort: ns?.port,
    serializer,
    workloads: runOrder(tls?.workloads ?? options.workloads),
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    bulkBytes: options.bulkBytes,
    batchSize: options.batchSize,
    tls: tls?.certDir,
  };
  const name = `${pairing.label} ${serializer}${tls ? " TLS" : ""} client`;
  const client = pairing.client === "deno"
    ? procs.deno("deno_client.ts", config, "client", name)
    : procs.python("py_client.py", config, "client", name);
  const pending = new Set<Workload>(tls?.workloads ?? options.workloads);
  const store = (result: RunResult) => {
    const key = resultKey(result.workload, tls ? TLS_SERIES : serializer, pairing.id);
    const list = raw.results.get(key) ?? [];
    list.push(result);
    raw.results.set(key, list);
    pending.delete(result.workload as Workload);
  };
  try {
    while (pending.size > 0) {
      const line = await client.nextJson(
        options.durationMs + options.warmupMs + WORKLOAD_SLACK_MS,
      ) as RunResult | null;
      if (line === null) break;
      store(line);
    }
  } catch (error) {
    raw.problems.push((error as Error).message);
  } finally {
    await client.stop();
  }
  for (const workload of pending) {
    const tail = client.stderrTail.split("\n").at(-1) || "the client ended early";
    store({ workload, error: tail });
  }
}

/** Bulk transfers last: whatever a daemon went through before must not weigh on small calls. */
function runOrder(workloads: readonly Workload[]): Workload[] {
  const bulk = (w: Workload) => w === "upload" || w === "download";
  return [...workloads.filter((w) => !bulk(w)), ...workloads.filter(bulk)];
}

/**
 * One client process per pairing and serializer, each against fresh servers (a daemon and a
 * name server of the pairing's server side), so that no run inherits another's heap.
 */
async function matrixRun(procs: Processes, raw: RawData): Promise<void> {
  const { options } = raw;
  const wantsDaemon = options.workloads.some((w) => w !== "ns");
  const wantsNs = options.workloads.includes("ns");
  for (const pairing of options.pairings) {
    for (const serializer of options.serializers) {
      progress(`  ${pairing.label} ${serializer}`);
      const side = pairing.server === "py" ? "Python" : "Deno";
      const start = (mode: "daemon" | "ns", name: string) =>
        procs.server(
          pairing.server === "py"
            ? procs.python("py_server.py", { mode }, "server", `${side} ${name}`)
            : procs.deno("deno_server.ts", { mode }, "server", `${side} ${name}`),
        );
      const [daemon, ns] = await Promise.all([
        wantsDaemon ? start("daemon", "daemon") : undefined,
        wantsNs ? start("ns", "name server") : undefined,
      ]);
      try {
        await clientRun(procs, raw, pairing, serializer, daemon, ns);
      } finally {
        await Promise.all([daemon?.child.stop(), ns?.child.stop()]);
      }
    }
  }
}

/** TLS: small calls and bulk transfers with msgpack, Deno->Deno against Py->Py (one-way TLS). */
async function tlsRun(procs: Processes, raw: RawData, certDir: string): Promise<void> {
  const workloads = TLS_WORKLOADS.filter((w) => raw.options.workloads.includes(w));
  if (workloads.length === 0) return;
  for (const pairing of PAIRINGS.filter((p) => p.id === "pp" || p.id === "dd")) {
    progress(`  ${pairing.label} msgpack over TLS`);
    const config = { mode: "daemon", tls: certDir };
    const daemon = await procs.server(
      pairing.server === "py"
        ? procs.python("py_server.py", config, "server", "Python TLS daemon")
        : procs.deno("deno_server.ts", config, "server", "Deno TLS daemon"),
    );
    try {
      await clientRun(procs, raw, pairing, "msgpack", daemon, undefined, { certDir, workloads });
    } finally {
      await daemon.child.stop();
    }
  }
}

/**
 * The message bus row: for each storage and subscriber count, a fresh bus (the Python one built
 * as Pyro5's example, then pyro-deno's) and one bus_client.ts process against it.
 */
async function busRun(procs: Processes, raw: RawData, withPython: boolean): Promise<void> {
  const { options } = raw;
  const dir = await Deno.makeTempDir({ prefix: "pyro-bench-bus-" });
  try {
    for (const storage of ["memory", "sqlite"] as const) {
      for (const subscribers of options.busSubscribers) {
        for (const bus of withPython ? (["py", "deno"] as const) : (["deno"] as const)) {
          progress(
            `  ${bus === "py" ? "Python" : "Deno"} bus, ${storage}, ${subscribers} subscribers`,
          );
          const file = `${dir}/${bus}-${storage}-${subscribers}-${crypto.randomUUID()}.sqlite`;
          const config = { storage, file };
          const name = `${bus === "py" ? "Python" : "Deno"} message bus`;
          const run: BusRun = { bus, storage, subscribers };
          let client: Child | undefined;
          let server: ServerInfo | undefined;
          try {
            server = await procs.server(
              bus === "py"
                ? procs.python("py_bus.py", config, "server", name)
                : procs.deno("deno_bus.ts", config, "server", name, ["--allow-write"]),
            );
            client = procs.deno(
              "bus_client.ts",
              {
                uri: server.uri,
                subscribers,
                durationMs: options.durationMs,
                warmupMs: options.warmupMs,
              },
              "client",
              "bus client",
            );
            const line = await client.nextJson(
              options.durationMs + options.warmupMs + WORKLOAD_SLACK_MS,
            );
            if (!line) run.error = client.stderrTail.split("\n").at(-1) || "no result";
            else if (line.error) run.error = String(line.error);
            else {
              run.published = Number(line.published);
              run.delivered = Number(line.delivered);
            }
          } catch (error) {
            run.error = (error as Error).message;
          } finally {
            await client?.stop();
            await server?.child.stop();
          }
          (raw.bus ??= []).push(run);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The HTTP gateway row: requests/s with 1 and 32 concurrent clients (one Deno client process),
 * Pyro5's gateway in front of Python servers against ours in front of Deno servers.
 */
async function gatewayRun(procs: Processes, raw: RawData): Promise<void> {
  const { options } = raw;
  for (const pairing of PAIRINGS.filter((p) => p.id === "pp" || p.id === "dd")) {
    const side = pairing.server === "py" ? "Pyro5's" : "pyro-deno's";
    progress(`  ${side} HTTP gateway`);
    const config = { mode: "gateway" };
    const gateway = await procs.server(
      pairing.server === "py"
        ? procs.python("py_server.py", config, "server", "Pyro5 HTTP gateway")
        : procs.deno("deno_server.ts", config, "server", "pyro-deno HTTP gateway"),
    );
    const client = procs.deno(
      "deno_client.ts",
      {
        mode: "http",
        uri: gateway.uri!,
        clients: [...GATEWAY_CLIENTS],
        durationMs: options.durationMs,
        warmupMs: options.warmupMs,
      } satisfies ClientConfig,
      "client",
      `${side} HTTP gateway client`,
    );
    const pending = new Set(GATEWAY_CLIENTS.map((c) => `gateway${c}`));
    const store = (result: RunResult) => {
      const key = resultKey(result.workload, GATEWAY_SERIES, pairing.id);
      raw.results.set(key, [...raw.results.get(key) ?? [], result]);
      pending.delete(result.workload);
    };
    try {
      while (pending.size > 0) {
        const line = await client.nextJson(
          options.durationMs + options.warmupMs + WORKLOAD_SLACK_MS,
        ) as RunResult | null;
        if (line === null) break;
        store(line);
      }
    } catch (error) {
      raw.problems.push(`${side} HTTP gateway: ${(error as Error).message}`);
    } finally {
      await client.stop();
      await gateway.child.stop();
    }
    for (const workload of pending) {
      store({ workload, error: client.stderrTail.split("\n").at(-1) || "the client ended early" });
    }
  }
}

async function memoryRun(procs: Processes, options: BenchOptions): Promise<MemoryFigures> {
  const connections = options.connections;
  const server = await procs.server(procs.deno(
    "deno_server.ts",
    { mode: "daemon", maxConnections: connections + 16 },
    "server",
    "Deno daemon (memory)",
  ));
  const figures: MemoryFigures = { connections, open: 0, rssBefore: 0, rssWith: 0, peak: 0 };
  let client: Child | undefined;
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await processMemory(server.child.pid);
    if (!before) return { ...figures, problem: "no /proc/PID/status on this system" };
    figures.rssBefore = before.rss;
    const config: ClientConfig = {
      mode: "idle",
      uri: server.uri!,
      serializer: "msgpack",
      connections,
      durationMs: 0,
      warmupMs: 0,
    };
    client = procs.deno("deno_client.ts", config, "client", "idle connections client");
    const line = await client.nextJson(120_000);
    figures.open = Number(line?.ready ?? 0);
    if (line?.error) figures.problem = `client: ${line.error}`;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await processMemory(server.child.pid);
    figures.rssWith = after?.rss ?? 0;
    figures.peak = after?.peak ?? 0;
    return figures;
  } catch (error) {
    return { ...figures, problem: (error as Error).message };
  } finally {
    await client?.stop();
    await server.child.stop();
  }
}

async function environment(options: BenchOptions, pythonPath: string, pinning: boolean) {
  const python = await run("python3", ["--version"]);
  const pyro = await run("python3", ["-c", "import Pyro5; print(Pyro5.__version__)"], {
    PYTHONPATH: pythonPath,
  });
  const cpuText = options.pin === "same"
    ? `client and server on CPU ${options.cpus[0]} (taskset -c ${options.cpus[0]})`
    : `client on CPU ${options.cpus[0]}, server on CPU ${options.cpus[1] ?? options.cpus[0]}`;
  return {
    deno: Deno.version.deno,
    python: python.stdout.replace(/^Python /, ""),
    pyro5: pyro.stdout,
    cpuCount: navigator.hardwareConcurrency,
    pinText: !pinning ? "none" : cpuText,
  };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const pinning = options.pin !== "none" && await hasTaskset();
  if (options.pin !== "none" && !pinning) {
    console.error("taskset is not available: running without pinning");
    options = { ...options, pin: "none" };
  }
  const usesPython = options.pairings.some((p) => p.client === "py" || p.server === "py");
  const pythonPath = usesPython ? await installPeer() : "";
  const raw: RawData = {
    options,
    environment: await environment(options, pythonPath, pinning),
    ceiling: { pingpong: [], bulk: [] },
    results: new Map(),
    memory: null,
    problems: [],
  };
  const procs = new Processes(options, pythonPath);
  const certDir = options.pairings.some((p) => p.id === "pp") &&
      options.pairings.some((p) => p.id === "dd")
    ? await testCerts()
    : null;
  try {
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      progress(`repeat ${repeat}/${options.repeats}: ceiling`);
      await ceilingRun(procs, raw);
      await matrixRun(procs, raw);
      if (certDir) await tlsRun(procs, raw, certDir);
      if (certDir) await gatewayRun(procs, raw);
      if (options.busSubscribers.length > 0) {
        progress(`repeat ${repeat}/${options.repeats}: message bus`);
        await busRun(procs, raw, usesPython);
      }
    }
    if (options.connections > 0) {
      progress(`memory: ${options.connections} idle connections`);
      raw.memory = await memoryRun(procs, options);
    }
  } finally {
    await procs.stopAll();
  }
  const summary = summarize(raw);
  if (options.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(formatTable(summary));
  return 0;
}

if (import.meta.main) Deno.exit(await main());
