/**
 * `deno task ns`: starts a name server, with `python3 -m Pyro5.nameserver`'s flags and output.
 *
 * ```
 * deno task ns [-n HOST] [-p PORT] [-u UNIXSOCKET] [-s STORAGE] [--bchost BCHOST]
 *              [--bcport BCPORT] [--nathost NATHOST] [--natport NATPORT] [-x]
 * ```
 *
 * `PYRO_*` environment variables configure it as they configure Pyro5. It runs until SIGINT or
 * SIGTERM. Needs `--allow-net --allow-env --allow-sys`, and `--allow-read --allow-write` for sql
 * storage or a Unix socket.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { configFromEnv } from "../config.ts";
import { startNameServer } from "../nameserver.ts";
import {
  addressText,
  type CommandIo,
  errorLine,
  intOption,
  listening,
  runCommand,
  usageError,
  wantsTraceback,
} from "./_common.ts";

const USAGE = `usage: ns [-h] [-n HOST] [-p PORT] [-u UNIXSOCKET] [-s STORAGE] [--bchost BCHOST]
          [--bcport BCPORT] [--nathost NATHOST] [--natport NATPORT] [-x]`;

const HELP = `${USAGE}

Pyro name server command line launcher.

options:
  -h, --help            show this help message and exit
  -n HOST, --host HOST  hostname to bind server on
  -p PORT, --port PORT  port to bind server on (0=random)
  -u UNIXSOCKET, --unixsocket UNIXSOCKET
                        Unix domain socket name to bind server on
  -s STORAGE, --storage STORAGE
                        Storage system to use (memory, sql:file)
  --bchost BCHOST       hostname to bind broadcast server on (default is "")
  --bcport BCPORT       port to bind broadcast server on (0=random)
  --nathost NATHOST     external hostname in case of NAT
  --natport NATPORT     external port in case of NAT
  -x, --nobc            don't start a broadcast server`;

/** What `main` needs from the outside world; tests replace it. */
export type NsIo = CommandIo;

/**
 * Runs the name server command.
 *
 * @param args the command line arguments
 * @param io output, environment and stop signal
 * @returns the exit code
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./ns.ts";
 * const lines: string[] = [];
 * const code = await main(["-n", "127.0.0.1", "-p", "0"], {
 *   out: (l) => lines.push(l), err: (l) => lines.push(l), env: {}, stop: Promise.resolve(),
 * });
 * assert(code === 0 && lines.at(-1) === "NS shut down.");
 * ```
 */
export async function main(args: string[], io: NsIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        host: { type: "string", short: "n" },
        port: { type: "string", short: "p" },
        unixsocket: { type: "string", short: "u" },
        storage: { type: "string", short: "s", default: "memory" },
        bchost: { type: "string" },
        bcport: { type: "string" },
        nathost: { type: "string" },
        natport: { type: "string" },
        nobc: { type: "boolean", short: "x" },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    return usageError(io, USAGE, "ns", error instanceof Error ? error.message : String(error));
  }
  const options = parsed.values;
  if (options.help) {
    io.out(HELP);
    return 0;
  }
  const port = intOption(options.port, "-p/--port");
  const bcport = intOption(options.bcport, "--bcport");
  const natport = intOption(options.natport, "--natport");
  for (const value of [port, bcport, natport]) {
    if (value instanceof Error) return usageError(io, USAGE, "ns", value.message);
  }
  let config;
  try {
    config = configFromEnv(io.env);
  } catch (error) {
    io.err(errorLine(error));
    return 1;
  }
  const natHost = options.nathost ?? config.NATHOST;
  const host = options.host ?? config.HOST;
  // Pyro5 starts no broadcast server for a Unix socket, IPv6 or a loopback host.
  const broadcasting = !options.nobc && !options.unixsocket && !host.includes(":") &&
    host !== "localhost" && !host.startsWith("127.");
  const where = options.unixsocket ??
    addressText(host, (port as number | undefined) ?? config.NS_PORT);
  const broadcastWhere = broadcasting ? ` (broadcast port ${bcport ?? config.NS_BCPORT})` : "";
  let server;
  try {
    server = await listening("the name server", where + broadcastWhere, () =>
      startNameServer({
        host: options.host,
        port: port as number | undefined,
        unixSocket: options.unixsocket,
        natHost,
        natPort: natHost
          ? (natport as number | undefined) || config.NATPORT || undefined
          : undefined,
        storage: options.storage,
        enableBroadcast: !options.nobc,
        bcHost: options.bchost,
        bcPort: bcport as number | undefined,
        config,
      }));
  } catch (error) {
    io.err(errorLine(error));
    if (wantsTraceback([], io.env)) io.err(String((error as Error)?.stack ?? error));
    return 1;
  }
  try {
    const hostIp = options.unixsocket
      ? "Unix domain socket"
      : (server.daemon.addr as Deno.NetAddr).hostname;
    if (server.broadcastSkipped) io.out(server.broadcastSkipped);
    if (server.broadcast) io.out(`Broadcast server running on ${server.broadcast.locationStr}`);
    const existing = server.nameserver.count();
    if (existing > 1) io.out(`Persistent store contains ${existing} existing registrations.`);
    io.out(`NS running on ${server.daemon.locationStr} (${hostIp})`);
    if (server.daemon.natLocationStr) {
      io.out(`internal URI = ${server.internalUri}`);
      io.out(`external URI = ${server.uri}`);
    } else {
      io.out(`URI = ${server.uri}`);
    }
    await Promise.race([io.stop, server.closed]);
  } finally {
    await server.close();
  }
  io.out("NS shut down.");
  return 0;
}

if (import.meta.main) await runCommand(main);
