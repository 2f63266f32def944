/**
 * The handshake client: connects with the secret code given on the command line.
 *
 * ```sh
 * deno run --allow-net examples/handshake/client.ts PYRO:Pyro.Daemon@127.0.0.1:PORT SECRET
 * ```
 *
 * @module
 */
import { CommunicationError, PyroProxy } from "../../mod.ts";

if (import.meta.main) {
  const [uri, secret] = Deno.args;
  await using proxy = new PyroProxy(uri, {
    handshake: secret,
    validateHandshake: (response) => {
      // Called when the server accepted the connection.
      console.log("Proxy received handshake response data:", JSON.stringify(response));
    },
  });
  console.log("connecting...");
  try {
    await proxy._pyroBind();
    await proxy.ping();
    console.log("Connection ok!");
  } catch (error) {
    if (!(error instanceof CommunicationError)) throw error;
    console.log("Connection refused:", error.message);
  }
  console.log("done.");
}
