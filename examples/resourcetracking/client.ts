/**
 * The resource tracking client: allocates two resources, then frees them, or with `--abort`
 * just exits.
 *
 * ```sh
 * deno run --allow-net examples/resourcetracking/client.ts PYRO:service@127.0.0.1:PORT [--abort]
 * ```
 *
 * @module
 */
import { PyroProxy } from "../../mod.ts";

if (import.meta.main) {
  const [uri, abort] = Deno.args;
  await using proxy = new PyroProxy(uri);
  console.log("currently allocated resources:", await proxy.list());
  const name1 = crypto.randomUUID().slice(0, 4);
  const name2 = crypto.randomUUID().slice(0, 4);
  console.log("allocating resource...", name1);
  await proxy.allocate(name1);
  console.log("allocating resource...", name2);
  await proxy.allocate(name2);
  if (abort === "--abort") {
    console.log("aborting without freeing the resources");
    Deno.exit(1);
  }
  console.log("free resources normally...");
  await proxy.free(name1);
  await proxy.free(name2);
  console.log("allocated resources:", await proxy.list());
  console.log("done.");
}
