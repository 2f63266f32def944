/**
 * The callback server: workers that call back their client when done, a method that calls two
 * failing callback methods, and one that calls a function the client passed.
 *
 * ```sh
 * deno run --allow-net examples/callback/server.ts [PORT]
 * ```
 *
 * @module
 */
import { currentContext, Daemon, expose, oneway, type PyroProxy } from "../../mod.ts";

class Worker {
  constructor(readonly number: number, readonly callback: PyroProxy) {
    console.log(`Worker ${number} created`);
  }

  @oneway
  async work(amount: number): Promise<void> {
    console.log(`Worker ${this.number} busy...`);
    await new Promise((resolve) => setTimeout(resolve, amount * 1000));
    console.log(`Worker ${this.number} done. Informing callback client.`);
    currentContext()!.daemon.unregister(this);
    await this.callback.done(this.number); // call the client back
    this.callback._pyroRelease();
  }
}

@expose
class CallbackServer {
  #number = 0;

  addworker(callback: PyroProxy): Worker {
    const worker = new Worker(++this.#number, callback);
    console.log(`server: adding worker ${worker.number}`);
    currentContext()!.daemon.register(worker); // returned as a proxy
    return worker;
  }

  @oneway
  async doCallback(callback: PyroProxy): Promise<void> {
    for (const method of ["call1", "call2"]) {
      console.log(`server: doing callback ${method} to client`);
      try {
        await callback[method]();
      } catch (error) {
        console.log(`server: got an exception from the callback: ${error}`);
      }
    }
    callback._pyroRelease();
    console.log("server: callbacks done.");
  }

  async sum(add: (a: number, b: number) => Promise<number>, a: number, b: number) {
    const result = await add(a, b); // a plain function of the client, called remotely
    (add as unknown as PyroProxy)._pyroRelease();
    return result;
  }
}

if (import.meta.main) {
  const daemon = new Daemon({ host: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
  console.log("uri:", daemon.register(new CallbackServer(), "example.callback").toString());
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
