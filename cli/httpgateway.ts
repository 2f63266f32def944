/**
 * `deno task httpgateway`: the HTTP gateway, with `pyro5-httpgateway`'s flags, defaults and
 * start-up output: Pyro objects in the name server called with HTTP and JSON at
 * `http://HOST:PORT/pyro/<name>/<method>`.
 *
 * ```
 * deno task httpgateway [-H HOST] [-p PORT] [-c CORS] [-e EXPOSE] [-g GATEWAYKEY] [-t TIMEOUT]
 * ```
 *
 * Needs `--allow-net --allow-env --allow-sys`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { configFromEnv } from "../config.ts";
import { HTTP_GATEWAY_DEFAULTS, startHttpGateway } from "../httpgateway.ts";
import { locateNS } from "../client.ts";
import { PyroError } from "../errors.ts";
import {
  addressText,
  type CommandIo,
  intOption,
  listening,
  runCommand,
  usageError,
} from "./_common.ts";

const USAGE = "usage: httpgateway [-h] [-H HOST] [-c CORS] [-p PORT] [-e EXPOSE]\n" +
  "                   [-g GATEWAYKEY] [-t TIMEOUT]";

function help(timeout: number): string {
  return `${USAGE}

Pyro http gateway command line launcher.

options:
  -h, --help            show this help message and exit
  -H HOST, --host HOST  hostname to bind server on (default=localhost)
  -c CORS, --cors CORS  Allow cross origin domain/url
  -p PORT, --port PORT  port to bind server on (default=8080)
  -e EXPOSE, --expose EXPOSE
                        a regex of object names to expose (default=${HTTP_GATEWAY_DEFAULTS.expose})
  -g GATEWAYKEY, --gatewaykey GATEWAYKEY
                        the api key to use to connect to the gateway itself
  -t TIMEOUT, --timeout TIMEOUT
                        Pyro timeout value to use (COMMTIMEOUT setting,
                        default=${timeout.toFixed(6)})`;
}

/**
 * Runs the HTTP gateway command until `io.stop` resolves.
 *
 * @param args the command line arguments
 * @param io output, environment and stop signal
 * @returns the exit code
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./httpgateway.ts";
 * const lines: string[] = [];
 * const code = await main(["-H", "127.0.0.1", "-p", "0"], {
 *   out: (l) => lines.push(l), err: (l) => lines.push(l),
 *   env: { PYRO_NS_HOST: "127.0.0.1", PYRO_NS_PORT: "1" }, stop: Promise.resolve(),
 * });
 * assert(code === 0 && lines.some((l) => l.startsWith("Pyro HTTP gateway running on http://127.0.0.1:")));
 * ```
 */
export async function main(args: string[], io: CommandIo): Promise<number> {
  const config = configFromEnv(io.env);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        host: { type: "string", short: "H", default: HTTP_GATEWAY_DEFAULTS.host },
        cors: { type: "string", short: "c", default: HTTP_GATEWAY_DEFAULTS.cors },
        port: { type: "string", short: "p", default: String(HTTP_GATEWAY_DEFAULTS.port) },
        expose: { type: "string", short: "e", default: HTTP_GATEWAY_DEFAULTS.expose },
        gatewaykey: { type: "string", short: "g" },
        timeout: { type: "string", short: "t" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return usageError(io, USAGE, "httpgateway", message);
  }
  const options = parsed.values;
  if (options.help) {
    io.out(help(config.COMMTIMEOUT));
    return 0;
  }
  const port = intOption(options.port, "-p/--port");
  if (port instanceof Error) return usageError(io, USAGE, "httpgateway", port.message);
  let timeout = config.COMMTIMEOUT;
  if (options.timeout !== undefined) {
    timeout = Number(options.timeout.trim());
    if (options.timeout.trim() === "" || Number.isNaN(timeout)) {
      const message = `argument -t/--timeout: invalid float value: '${options.timeout}'`;
      return usageError(io, USAGE, "httpgateway", message);
    }
  }
  const expose = options.expose;
  if (expose) io.out(`Exposing objects with names matching:  ${expose}`);
  else io.out("Warning: exposing all objects (no expose regex set)");
  try {
    await using ns = await locateNS(null, null, { config, proxyOptions: { timeout } });
    io.out(`Connected to name server at:  ${ns._pyroUri}`);
  } catch (error) {
    if (!(error instanceof PyroError)) throw error;
    io.out("Not yet connected to a name server.");
  }
  await using gateway = await listening(
    "the HTTP gateway",
    addressText(options.host, port ?? HTTP_GATEWAY_DEFAULTS.port),
    () =>
      startHttpGateway({
        host: options.host,
        port,
        cors: options.cors,
        expose,
        gatewayKey: options.gatewaykey ?? "",
        timeout,
        config,
        log: io.err,
      }),
  );
  io.out(`Pyro HTTP gateway running on ${gateway.url}`);
  await Promise.race([io.stop, gateway.finished]);
  return 0;
}

if (import.meta.main) await runCommand(main);
