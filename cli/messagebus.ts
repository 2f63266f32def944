/**
 * `deno task messagebus`: a message bus server, with the flags of Pyro5's messagebus example
 * server, registered in the name server as `Pyro.MessageBus`.
 *
 * ```
 * deno task messagebus [-n HOST] [-p PORT] [-u UNIXSOCKET] [-s memory|sqlite|sqlite:FILE] [--no-ns]
 * ```
 *
 * The name server is found as `locateNS()` finds it (`PYRO_NS_HOST`, `PYRO_NS_PORT`, broadcast).
 * Needs `--allow-net --allow-env --allow-sys`, and `--allow-read --allow-write` for sqlite.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { configFromEnv } from "../config.ts";
import { NamingError } from "../errors.ts";
import { MESSAGEBUS_NAME, startMessageBus } from "../messagebus.ts";
import {
  addressText,
  CommandError,
  type CommandIo,
  intOption,
  listening,
  nsLocation,
  runCommand,
  usageError,
} from "./_common.ts";

const USAGE =
  "usage: messagebus [-h] [-n HOST] [-p PORT] [-u UNIXSOCKET] [-s {sqlite,memory,sqlite:FILE}] [--no-ns]";

const HELP = `${USAGE}

Pyro message bus server (the messagebus example's server).

options:
  -h, --help            show this help message and exit
  -n HOST, --host HOST  hostname to bind server on (default=localhost)
  -p PORT, --port PORT  port to bind server on (0=random)
  -u UNIXSOCKET, --unixsocket UNIXSOCKET
                        Unix domain socket name to bind server on
  -s STORAGE, --storage STORAGE
                        storage type: memory, sqlite (file messages.sqlite) or
                        sqlite:FILE (default=sqlite)
  --no-ns               do not register in the name server`;

/**
 * Runs the message bus until `io.stop` resolves.
 *
 * @param args the command line arguments
 * @param io output, environment and stop signal
 * @returns the exit code
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./messagebus.ts";
 * const lines: string[] = [];
 * const code = await main(["-n", "127.0.0.1", "-s", "memory", "--no-ns"], {
 *   out: (l) => lines.push(l), err: (l) => lines.push(l), env: {}, stop: Promise.resolve(),
 * });
 * assert(code === 0 && lines.some((l) => l.startsWith("    uri  = PYRO:Pyro.MessageBus@127.0.0.1:")));
 * ```
 */
export async function main(args: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        host: { type: "string", short: "n", default: "localhost" },
        port: { type: "string", short: "p", default: "0" },
        unixsocket: { type: "string", short: "u" },
        storage: { type: "string", short: "s", default: "sqlite" },
        "no-ns": { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return usageError(
      io,
      USAGE,
      "messagebus",
      error instanceof Error ? error.message : String(error),
    );
  }
  const options = parsed.values;
  if (options.help) {
    io.out(HELP);
    return 0;
  }
  const port = intOption(options.port, "-p/--port");
  if (port instanceof Error) return usageError(io, USAGE, "messagebus", port.message);
  const storage = options.storage === "sqlite" ? "sqlite:messages.sqlite" : options.storage;
  if (storage !== "memory" && !(storage.startsWith("sqlite:") && storage.length > 7)) {
    return usageError(
      io,
      USAGE,
      "messagebus",
      `argument -s/--storage: invalid choice: '${options.storage}' (choose from 'sqlite', 'memory', 'sqlite:FILE')`,
    );
  }
  const config = configFromEnv(io.env);
  await using running = await listening(
    "the message bus",
    options.unixsocket ?? addressText(options.host, port ?? 0),
    () =>
      startMessageBus({
        host: options.host,
        port: port ?? 0,
        unixSocket: options.unixsocket,
        storage,
        nameServer: !options["no-ns"],
        config,
        onWarning: io.err,
      }).catch((error) => {
        if (!(error instanceof NamingError)) throw error;
        const where = nsLocation("", null, config);
        throw new CommandError(`${error.message} at ${where}`, { cause: error });
      }),
  );
  io.out("Pyro Message Bus.");
  io.out(`    uri  = ${running.uri}`);
  if (running.nameServer) io.out(`    name = ${MESSAGEBUS_NAME}`);
  io.out(`Server running, storage is ${storage === "memory" ? "memory" : storage}.`);
  await io.stop;
  return 0;
}

if (import.meta.main) await runCommand(main);
