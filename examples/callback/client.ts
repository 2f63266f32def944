/**
 * The callback client: runs its own daemon for the server's calls back, puts five workers to
 * work and waits for their reports; then lets the server call two failing methods, of which the
 * `@callback` one is reported here too; then passes a plain function.
 *
 * ```sh
 * deno run --allow-net examples/callback/client.ts PYRO:example.callback@127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { callback, Daemon, expose, PyroProxy } from "../../mod.ts";

const NUM_WORKERS = 5;

class CallbackHandler {
  workdone = 0;
  #allDone = Promise.withResolvers<void>();
  readonly allDone = this.#allDone.promise;
  #crashes = Promise.withResolvers<void>();
  readonly crashed = this.#crashes.promise;
  #calls = 0;

  @expose
  done(number: number): void {
    console.log(`callback: worker ${number} reports work is done!`);
    if (++this.workdone === NUM_WORKERS) this.#allDone.resolve();
  }

  crash(): number {
    this.#calls++;
    if (this.#calls === 2) queueMicrotask(() => this.#crashes.resolve());
    throw new RangeError("division by zero");
  }

  @expose
  call1(): number {
    console.log("callback 1 received from server! (its error is only seen on the server)");
    return this.crash();
  }

  @expose
  @callback
  call2(): number {
    console.log("callback 2 received from server! (its error is reported here too)");
    return this.crash();
  }
}

if (import.meta.main) {
  const uri = Deno.args[0];
  await using daemon = new Daemon({
    host: "127.0.0.1",
    onError: (error, info) => {
      if (info.callback) console.log(`client: error in callback ${info.method}: ${error}`);
    },
  });
  const handler = new CallbackHandler();
  daemon.register(handler);

  console.log("creating a bunch of workers");
  {
    await using server = new PyroProxy(uri, { callbackDaemon: daemon });
    for (let i = 0; i < NUM_WORKERS; i++) {
      await using worker: PyroProxy = await server.addworker(handler); // our callback object
      await worker.work(Math.random() * 0.2);
    }
  }
  console.log("waiting for all work complete...");
  await handler.allDone;
  console.log("done!");

  await using server = new PyroProxy(uri, { callbackDaemon: daemon });
  await server.doCallback(handler); // oneway: returns at once
  await handler.crashed;

  // A plain function as a callback: registered in our daemon, called by the server.
  const add = (a: number, b: number) => a + b;
  console.log("sum computed by our function, called by the server:", await server.sum(add, 2, 3));
  daemon.unregister(add);
}
