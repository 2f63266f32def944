/**
 * The call context server: prints what `currentContext()` says about each call, adds response
 * annotations, and forwards a call to show the correlation id travelling on.
 *
 * ```sh
 * deno run --allow-net examples/callcontext/server.ts [PORT]
 * ```
 *
 * @module
 */
import { currentContext, Daemon, expose, oneway, PyroProxy } from "../../mod.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

@expose
class EchoServer {
  echo(message: string): string {
    const ctx = currentContext()!;
    console.log("\nGot Message:", message);
    console.log("  context.client: ", JSON.stringify(ctx.clientAddr));
    console.log("  context.handshake: ", JSON.stringify(ctx.client.handshake));
    console.log("  context.seq: ", ctx.seq);
    console.log("  context.msgFlags: ", ctx.msgFlags);
    console.log("  context.serializerId: ", ctx.serializerId);
    console.log("  context.correlationId:", hex(ctx.correlationId));
    const custom = ctx.annotations.get("XYZZ");
    if (custom) console.log("  custom annotation 'XYZZ':", new TextDecoder().decode(custom));
    ctx.responseAnnotations.set("ECHO", new TextEncoder().encode("echoed: " + message));
    return message;
  }

  @oneway
  oneway(message: string): void {
    this.echo(message);
  }

  /** Calls echo again through a new proxy: the correlation id goes along. */
  async forward(uri: string, message: string): Promise<string> {
    await using self = new PyroProxy(uri);
    return await self.echo(`forwarded: ${message}`);
  }
}

if (import.meta.main) {
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: Number(Deno.args[0] ?? 0),
    annotations: () =>
      new Map([["DDAA", new TextEncoder().encode("custom response annotation set by the daemon")]]),
  });
  console.log("uri:", daemon.register(new EchoServer(), "example.context").toString());
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
