/**
 * The handshake server: refuses clients that do not send the secret code.
 *
 * ```sh
 * deno run --allow-net examples/handshake/server.ts [PORT]
 * ```
 *
 * @module
 */
import { currentContext, Daemon } from "../../mod.ts";

const SECRET_CODE = "pancakes";

if (import.meta.main) {
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: Number(Deno.args[0] ?? 0),
    validateHandshake: (client, data) => {
      console.log("Daemon received handshake request from:", JSON.stringify(client.remoteAddr));
      console.log("Handshake data:", JSON.stringify(data));
      const ctx = currentContext()!;
      console.log("  context.seq: ", ctx.seq);
      console.log("  context.serializerId: ", ctx.serializerId);
      if (data === SECRET_CODE) {
        console.log("Secret code okay! Connection accepted.");
        return ["how", "are", "you", "doing"]; // custom handshake response data
      }
      console.log("Secret code wrong! Connection refused.");
      throw new RangeError("wrong secret code, connection refused");
    },
    onDisconnect: (client) => {
      console.log("Daemon client disconnects:", JSON.stringify(client.remoteAddr));
    },
  });
  console.log("Server is ready. You can use the following URI to connect:");
  console.log("uri:", daemon.uri.toString());
  console.log("When asked, enter the following secret code:", SECRET_CODE);
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
