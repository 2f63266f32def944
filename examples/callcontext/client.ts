/**
 * The call context client: sets a correlation id and annotations, prints the annotations of
 * the responses.
 *
 * ```sh
 * deno run --allow-net examples/callcontext/client.ts PYRO:example.context@127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { PyroProxy } from "../../mod.ts";
import { MessageType } from "../../protocol/mod.ts";

const text = new TextDecoder();
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

if (import.meta.main) {
  const uri = Deno.args[0];
  let custom = "custom annotation from client (1)";
  await using proxy = new PyroProxy(uri, {
    annotations: () => new Map([["XYZZ", new TextEncoder().encode(custom)]]),
    onResponseAnnotations: (annotations, type) => {
      const kind = type === MessageType.CONNECT_OK ? "connect" : "call";
      for (const [key, value] of annotations) {
        console.log(`  response annotation (${kind}): ${key} -> ${text.decode(value)}`);
      }
    },
  });
  proxy._pyroCorrelationId = crypto.getRandomValues(new Uint8Array(16));
  console.log("correlation id set to:", hex(proxy._pyroCorrelationId));

  console.log("normal call");
  console.log("result:", await proxy.echo("hi there"));
  console.log("oneway call (no response, so no response annotations)");
  custom = "custom annotation from client (2)";
  await proxy.oneway("hi there ONEWAY");
  console.log("forwarded call: the server calls itself with the same correlation id");
  console.log("result:", await proxy.forward(uri, "hello"));
}
