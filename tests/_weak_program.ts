/**
 * Weak registration with a real garbage collection, for tests/serve_test.ts: registers one
 * object weakly and one strongly, drops both, collects, and prints one JSON line of what the
 * daemon still has and what calls get. Run with `--v8-flags=--expose-gc --allow-net=127.0.0.1`.
 */
import { PyroProxy } from "../client.ts";
import { Daemon, expose } from "../server.ts";

@expose
class Greeter {
  greet(name: string): string {
    return `Hello, ${name}`;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

await using daemon = new Daemon({ host: "127.0.0.1" });
(() => {
  // No reference outlives this function but the daemon's.
  daemon.register(new Greeter(), "strong");
  daemon.register(new Greeter(), "weak", { weak: true });
})();
const before = daemon.registeredIds();
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
for (let i = 0; i < 50; i++) {
  // Looking at a WeakRef keeps its object until the current job ends: collect in a new one.
  await tick();
  gc();
  await tick(); // finalizers run between tasks
  if (!daemon.registeredIds().includes("weak")) break;
}
const after = daemon.registeredIds();
async function call(id: string): Promise<string> {
  await using proxy = new PyroProxy(daemon.uriFor(id));
  try {
    return await proxy.greet(id) as string;
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}
console.log(
  JSON.stringify({ before, after, strongCall: await call("strong"), weakCall: await call("weak") }),
);
