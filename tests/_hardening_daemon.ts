/**
 * A daemon in a process of its own for tests/hardening_test.ts, so its memory can be read from
 * `/proc/<pid>/status`: serves `echo` at object id "echo", prints `{"port": N}` once listening and
 * runs until its stdin closes.
 *
 * Usage: `deno run --allow-net tests/_hardening_daemon.ts '{"config": {...}, "limits": {...}}'`
 *
 * @module
 */
import { makeConfig } from "../config.ts";
import { Daemon, exposeObject } from "../server.ts";

const { config = {}, limits = {} } = JSON.parse(Deno.args[0] ?? "{}");
const daemon = new Daemon({ host: "127.0.0.1", port: 0, config: makeConfig(config), limits });
daemon.register(exposeObject({ echo: (value: unknown) => value }), "echo");
console.log(JSON.stringify({ port: (daemon.addr as Deno.NetAddr).port }));
for await (const _ of Deno.stdin.readable) {
  // nothing is expected on stdin: its end is the signal to stop
}
await daemon.close();
