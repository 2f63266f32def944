/**
 * The instance mode client: three proxies per mode, three calls each, printing which instance
 * answered.
 *
 * ```sh
 * deno run --allow-net examples/instancemode/client.ts 127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { PyroProxy } from "../../mod.ts";

if (import.meta.main) {
  const location = Deno.args[0];
  for (const mode of ["percall", "session", "single"]) {
    console.log(`\n-----${mode.toUpperCase()}-----`);
    for (let session = 1; session <= 3; session++) {
      await using p = new PyroProxy(`PYRO:instance.${mode}@${location}`);
      const ids = [];
      for (let call = 0; call < 3; call++) ids.push(await p.msg(`hello${session}`));
      console.log(`${mode} proxy ${session}: ${ids.join(" ")}`);
    }
  }
}
