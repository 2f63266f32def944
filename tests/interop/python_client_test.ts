/**
 * A real Python Pyro5 5.15 client (tests/interop/pyro_client.py) against a Deno daemon, with
 * each of the four serializers.
 */
import assert, { deepStrictEqual, equal } from "node:assert";
import { Daemon } from "../../server.ts";
import { interopScript, runPython, SERIALIZERS, TestService, waitFor } from "../_support_rpc.ts";

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

for (const serializer of SERIALIZERS) {
  Deno.test(`Python Pyro5 client calls a Deno daemon (${serializer})`, async (t) => {
    const service = new TestService();
    await using daemon = new Daemon({ host: "127.0.0.1" });
    const uri = daemon.register(service, "service");
    const run = await runPython([interopScript("pyro_client.py"), uri.toString(), serializer]);
    const results: CheckResult[] = run.stdout.trim().split("\n").filter(Boolean).map((line) =>
      JSON.parse(line)
    );
    assert(run.code === 0, `python exited with ${run.code}: ${run.stderr}`);
    equal(results.length, 15, `not every check ran: ${run.stdout}\n${run.stderr}`);
    for (const result of results) {
      await t.step(result.name, () => assert(result.ok, result.detail));
    }
    await t.step("the daemon saw the oneway calls and the closed stream", async () => {
      await waitFor(() => service.onewayCalls.includes("slow done"), 5000);
      assert(service.onewayCalls.includes("from python"));
      // generator(5), asyncGenerator(3) and endless() (closed early) ran their finally blocks.
      assert(service.streamsFinished >= 3, `streamsFinished ${service.streamsFinished}`);
      equal(daemon.streamCount, 0);
      if (serializer !== "marshal") {
        deepStrictEqual(service.onewayCalls.filter((c) => c === "batched"), ["batched"]);
      }
    });
  });
}
