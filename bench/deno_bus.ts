/**
 * The Deno message bus of the benchmark's bus row (started by bench/main.ts, one JSON argument:
 * `{"storage": "memory"}` or `{"storage": "sqlite", "file": PATH}`): pyro-deno's
 * `startMessageBus` on 127.0.0.1, port 0, without a name server. Prints one JSON line
 * `{"host", "port", "uri", "pid"}` and serves until its stdin is closed.
 *
 * Permissions: `--allow-net=127.0.0.1 --allow-read --allow-write` (sqlite).
 *
 * @module
 */
import { startMessageBus } from "../messagebus.ts";
import { emit, stdinClosed } from "./_common.ts";

if (import.meta.main) {
  const config = JSON.parse(Deno.args[0]) as { storage: "memory" | "sqlite"; file?: string };
  await using running = await startMessageBus({
    host: "127.0.0.1",
    port: 0,
    nameServer: false,
    storage: config.storage === "sqlite" ? `sqlite:${config.file}` : "memory",
  });
  emit({ host: "127.0.0.1", port: running.uri.port, uri: String(running.uri), pid: Deno.pid });
  await stdinClosed();
}
