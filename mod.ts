/**
 * pyro-deno: Pyro5 (Python Remote Objects) for Deno. Call methods on objects in other processes
 * and machines as if they were local, serve your own objects, and find them through a name
 * server, over Pyro5's wire protocol, so Deno and Python Pyro5 programs call each other freely.
 *
 * - Serve objects: {@linkcode Daemon}, with {@linkcode expose} and {@linkcode oneway}; or
 *   {@linkcode serve} them as Pyro5's `serve()` does.
 * - Call them: {@linkcode PyroProxy}; find them: {@linkcode locateNS}, {@linkcode resolve} and
 *   `PYRONAME:` / `PYROMETA:` URIs.
 * - Run a name server: {@linkcode startNameServer}; call objects over HTTP and JSON:
 *   {@linkcode startHttpGateway}.
 * - Publish and subscribe: {@linkcode startMessageBus}, {@linkcode MessageBusClient}.
 * - Values: Python's types map to TypeScript as the README's table says ({@linkcode tuple},
 *   {@linkcode PyFloat}, ...); errors are {@linkcode PyroError} subclasses or
 *   {@linkcode RemoteError}.
 * - The wire layer beneath: Pyro5 messages ({@linkcode encodeMessage}, {@linkcode decodeMessage})
 *   and {@linkcode MessageConnection}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Daemon, expose, PyroProxy } from "./mod.ts";
 *
 * @expose
 * class Greeter {
 *   greet(name: string): string {
 *     return `Hello, ${name}`;
 *   }
 * }
 *
 * await using daemon = new Daemon({ host: "127.0.0.1", port: 0 });
 * const uri = daemon.register(new Greeter(), "example.greeter");
 * await using greeter = new PyroProxy(uri);
 * assert.equal(await greeter.greet("Deno"), "Hello, Deno");
 * ```
 *
 * @module
 */
export * from "./client.ts";
export * from "./server.ts";
export * from "./nameserver.ts";
export * from "./messagebus.ts";
export * from "./httpgateway.ts";
export * from "./uri.ts";
export * from "./errors.ts";
export * from "./config.ts";
export * from "./serializers/mod.ts";
export * from "./protocol/mod.ts";
