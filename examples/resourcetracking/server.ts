/**
 * The resource tracking server: resources allocated for a client are closed when its
 * connection ends, unless it freed them itself.
 *
 * ```sh
 * deno run --allow-net examples/resourcetracking/server.ts [PORT]
 * ```
 *
 * @module
 */
import { behavior, currentContext, Daemon, expose } from "../../mod.ts";

/** A fictional resource that must be freed again. */
class Resource {
  constructor(readonly name: string, readonly collection: Set<Resource>) {}

  close(): void {
    // The daemon calls this for tracked resources once the client's connection is gone.
    console.log("Resource: closing", this.name);
    this.collection.delete(this);
  }
}

@behavior({ instanceMode: "single" })
@expose
class Service {
  readonly resources = new Set<Resource>();

  allocate(name: string): void {
    const resource = new Resource(name, this.resources);
    this.resources.add(resource);
    const context = currentContext()!;
    context.trackResource(resource);
    console.log(
      "service: allocated resource",
      name,
      "for client",
      JSON.stringify(context.clientAddr),
    );
  }

  free(name: string): void {
    const context = currentContext()!;
    for (const resource of [...this.resources]) {
      if (resource.name !== name) continue;
      resource.close();
      context.untrackResource(resource);
    }
  }

  list(): string[] {
    return [...this.resources].map((r) => r.name);
  }
}

if (import.meta.main) {
  const daemon = new Daemon({
    host: "127.0.0.1",
    port: Number(Deno.args[0] ?? 0),
    onDisconnect: (client) => {
      console.log("client disconnects:", JSON.stringify(client.remoteAddr));
      console.log("    resources: ", [...client.trackedResources].map((r) => (r as Resource).name));
    },
  });
  console.log("uri:", daemon.register(Service, "service").toString());
  Deno.addSignalListener("SIGTERM", () => daemon.close());
  await daemon.closed;
}
