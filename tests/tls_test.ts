/**
 * TLS on every endpoint, one- and two-way, with Deno and Python Pyro5 5.15 on either side:
 * refusals for a wrong CA, a missing client certificate, an expired certificate and a host-name
 * mismatch; fail-closed configuration; and the bytes on the wire.
 */
import assert from "node:assert";
import { Daemon, DEFAULT_CONFIG, exposeObject, type PyroConfig, PyroProxy } from "../mod.ts";
import { CommunicationError, SecurityError } from "../errors.ts";
import { DaemonObject, expose } from "../server.ts";
import { KEY_PASSWORD, testCerts } from "./_certs.ts";
import { peerEnv, repoPath } from "./_peer.ts";

const certs = await testCerts();
const at = (name: string) => `${certs}/${name}`;

function serverConfig(extra: Partial<PyroConfig> = {}): Readonly<PyroConfig> {
  return {
    ...DEFAULT_CONFIG,
    SSL: true,
    SSL_SERVERCERT: at("server.pem"),
    SSL_SERVERKEY: at("server.key"),
    SSL_CACERTS: at("ca.pem"),
    ...extra,
  };
}

function clientConfig(extra: Partial<PyroConfig> = {}): Readonly<PyroConfig> {
  return { ...DEFAULT_CONFIG, SSL: true, SSL_CACERTS: at("ca.pem"), COMMTIMEOUT: 5, ...extra };
}

const TWO_WAY_CLIENT = { SSL_CLIENTCERT: at("client.pem"), SSL_CLIENTKEY: at("client.key") };

function echoDaemon(config: Readonly<PyroConfig>, seen: unknown[] = []): Daemon {
  const daemon = new Daemon({
    host: "localhost",
    config,
    validateHandshake: (client) => {
      seen.push({ secure: client.secure, subject: client.peerCertificate?.subject ?? null });
      return "hello";
    },
  });
  daemon.register(exposeObject({ echo: (x: unknown) => x }), "tls.echo");
  return daemon;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof Error);
    assert.match(`${error.constructor.name}: ${error.message}`, pattern);
    return error;
  }
  assert.fail(`expected a rejection matching ${pattern}`);
}

Deno.test("TLS one-way: Deno proxy and Deno daemon, the daemon's certificate on the proxy", async () => {
  const seen: unknown[] = [];
  await using daemon = echoDaemon(serverConfig(), seen);
  let pinned: string | undefined;
  await using proxy = new PyroProxy(`PYRO:tls.echo@${daemon.locationStr}`, {
    config: clientConfig(),
    validateHandshake: () => {
      pinned = proxy._pyroPeerCertificate?.fingerprint256;
    },
  });
  assert.strictEqual(await proxy.echo("over tls"), "over tls");
  const cert = proxy._pyroPeerCertificate!;
  assert.deepStrictEqual(cert.subject, { C: "NL", O: "Razorvine.net", CN: "localhost" });
  assert.match(cert.serialNumber, /^[0-9A-F]+$/);
  assert(cert.subjectAltName.includes("DNS:localhost"));
  assert.strictEqual(pinned, cert.fingerprint256);
  // One-way: the daemon asks for no client certificate.
  assert.deepStrictEqual(seen, [{ secure: true, subject: null }]);
});

Deno.test("TLS two-way: the client's certificate in validateHandshake; none or a stranger's is refused", async () => {
  const seen: unknown[] = [];
  await using daemon = echoDaemon(serverConfig({ SSL_REQUIRECLIENTCERT: true }), seen);
  const uri = `PYRO:tls.echo@${daemon.locationStr}`;
  await using proxy = new PyroProxy(uri, { config: clientConfig(TWO_WAY_CLIENT) });
  assert.strictEqual(await proxy.echo(42), 42);
  assert.deepStrictEqual(seen, [{
    secure: true,
    subject: { C: "NL", O: "Razorvine.net", CN: "client" },
  }]);

  await using bare = new PyroProxy(uri, { config: clientConfig() });
  await rejectsWith(bare.echo(1), /CommunicationError|ConnectionClosedError/);
  await using stranger = new PyroProxy(uri, {
    config: clientConfig({
      SSL_CLIENTCERT: at("stranger_client.pem"),
      SSL_CLIENTKEY: at("stranger_client.key"),
    }),
  });
  await rejectsWith(stranger.echo(1), /CommunicationError|ConnectionClosedError/);
  await using expired = new PyroProxy(uri, {
    config: clientConfig({ SSL_CLIENTCERT: at("expired.pem"), SSL_CLIENTKEY: at("expired.key") }),
  });
  await rejectsWith(expired.echo(1), /CommunicationError|ConnectionClosedError/);
  assert.strictEqual(seen.length, 1, "refused clients never reach validateHandshake");
  assert.strictEqual(await proxy.echo("still serving"), "still serving");
});

Deno.test("TLS refusals on the proxy side: wrong CA, expired, host-name mismatch, v1 certificate", async (t) => {
  const cases: [string, Partial<PyroConfig>, RegExp][] = [
    ["a certificate of another CA", {
      SSL_SERVERCERT: at("stranger.pem"),
      SSL_SERVERKEY: at("stranger.key"),
    }, /CommunicationError: cannot connect .*TLS handshake failed/],
    ["an expired certificate", {
      SSL_SERVERCERT: at("expired.pem"),
      SSL_SERVERKEY: at("expired.key"),
    }, /CommunicationError: cannot connect .*TLS handshake failed.*(xpired|NotValid)/i],
    ["a certificate for another host", {
      SSL_SERVERCERT: at("wronghost.pem"),
      SSL_SERVERKEY: at("wronghost.key"),
    }, /CommunicationError: cannot connect .*TLS handshake failed/],
  ];
  for (const [name, extra, pattern] of cases) {
    await t.step(name, async () => {
      const seen: unknown[] = [];
      await using daemon = echoDaemon(serverConfig(extra), seen);
      await using proxy = new PyroProxy(`PYRO:tls.echo@${daemon.locationStr}`, {
        config: clientConfig(),
      });
      await rejectsWith(proxy.echo(1), pattern);
      assert.deepStrictEqual(seen, []);
    });
  }
  await t.step("an X.509 v1 certificate is refused when the daemon starts", () => {
    assert.throws(
      () => echoDaemon(serverConfig({ SSL_SERVERCERT: at("v1.pem"), SSL_SERVERKEY: at("v1.key") })),
      (e: unknown) => e instanceof SecurityError && /version 1/.test(e.message),
    );
  });
});

Deno.test("TLS fails closed: a daemon or proxy that cannot set it up names the item", async (t) => {
  const daemonCases: [string, Partial<PyroConfig>, RegExp][] = [
    ["no certificate", { SSL_SERVERCERT: "" }, /SSL_SERVERCERT is not set/],
    [
      "a missing certificate file",
      { SSL_SERVERCERT: at("nothing.pem") },
      /SSL_SERVERCERT .*no such file/,
    ],
    [
      "an encrypted key without password",
      { SSL_SERVERKEY: at("server_enc.key") },
      /SSL_SERVERKEY: .*encrypted: set SSL_SERVERKEYPASSWD/,
    ],
    ["a wrong password", {
      SSL_SERVERKEY: at("server_enc.key"),
      SSL_SERVERKEYPASSWD: "wrong",
    }, /SSL_SERVERKEYPASSWD does not decrypt/],
    [
      "a key of another certificate",
      { SSL_SERVERKEY: at("client.key") },
      /does not match its private key/,
    ],
    ["a missing CA file", { SSL_CACERTS: at("nothing.pem") }, /SSL_CACERTS .*no such file/],
  ];
  for (const [name, extra, pattern] of daemonCases) {
    await t.step(`daemon: ${name}`, () => {
      assert.throws(() => echoDaemon(serverConfig(extra)), (e: unknown) => {
        assert(e instanceof SecurityError, String(e));
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
  await t.step("daemon: the right password decrypts the key", async () => {
    await using daemon = echoDaemon(serverConfig({
      SSL_SERVERKEY: at("server_enc.key"),
      SSL_SERVERKEYPASSWD: KEY_PASSWORD,
    }));
    await using proxy = new PyroProxy(`PYRO:tls.echo@${daemon.locationStr}`, {
      config: clientConfig(),
    });
    assert.strictEqual(await proxy.echo("decrypted"), "decrypted");
  });
  await t.step("proxy: an unreadable client certificate connects nowhere", async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let connected = false;
    const accepting = listener.accept().then((c) => {
      connected = true;
      c.close();
    }, () => {});
    await using proxy = new PyroProxy(`PYRO:x@127.0.0.1:${listener.addr.port}`, {
      config: clientConfig({ SSL_CLIENTCERT: at("nothing.pem") }),
    });
    const error = await rejectsWith(proxy.echo(1), /SecurityError: .*SSL_CLIENTCERT/);
    assert(error instanceof SecurityError);
    listener.close();
    await accepting;
    assert(!connected, "no connection is made when TLS cannot be set up");
  });
});

Deno.test("TLS and plain text never mix: each side gets a clear error, the daemon serves on", async () => {
  await using tlsDaemon = echoDaemon(serverConfig());
  await using plainProxy = new PyroProxy(`PYRO:tls.echo@${tlsDaemon.locationStr}`, { timeout: 5 });
  await rejectsWith(plainProxy.echo(1), /CommunicationError: cannot connect .*set SSL/);
  await using tlsProxy = new PyroProxy(`PYRO:tls.echo@${tlsDaemon.locationStr}`, {
    config: clientConfig(),
  });
  assert.strictEqual(await tlsProxy.echo("ok"), "ok");

  await using plainDaemon = echoDaemon(DEFAULT_CONFIG);
  await using tlsToPlain = new PyroProxy(`PYRO:tls.echo@${plainDaemon.locationStr}`, {
    config: clientConfig(),
  });
  const error = await rejectsWith(tlsToPlain.echo(1), /CommunicationError: cannot connect/);
  assert(error instanceof CommunicationError);
  await using plain = new PyroProxy(`PYRO:tls.echo@${plainDaemon.locationStr}`);
  assert.strictEqual(await plain.echo("ok"), "ok");
});

/** A TCP relay that records what passes through it, both ways. */
function recordingRelay(target: number): { port: number; bytes: () => Uint8Array; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: Uint8Array[] = [];
  const conns: Deno.Conn[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(65536);
    try {
      for (let n; (n = await from.read(buffer)) !== null;) {
        seen.push(buffer.slice(0, n));
        let done = 0;
        while (done < n) done += await to.write(buffer.subarray(done, n));
      }
    } catch {
      // either end closed
    }
    try {
      to.close();
    } catch {
      // already closed
    }
  };
  (async () => {
    for await (const inbound of listener) {
      const outbound = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(inbound, outbound);
      pump(inbound, outbound);
      pump(outbound, inbound);
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    bytes: () => {
      const all = new Uint8Array(seen.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of seen) all.set(b, (at += b.length) - b.length);
      return all;
    },
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

function contains(haystack: Uint8Array, needle: string): boolean {
  return new TextDecoder("latin1").decode(haystack).includes(needle);
}

Deno.test("TLS on the wire: no Pyro header or payload in the bytes between proxy and daemon", async (t) => {
  const secret = "the-secret-payload-0123456789";
  for (const [name, tls] of [["plain (control)", false], ["TLS", true]] as const) {
    await t.step(name, async () => {
      await using daemon = echoDaemon(tls ? serverConfig() : DEFAULT_CONFIG);
      const relay = recordingRelay((daemon.addr as Deno.NetAddr).port);
      try {
        // The certificate names localhost: the relay listens there too.
        await using proxy = new PyroProxy(`PYRO:tls.echo@localhost:${relay.port}`, {
          config: tls ? clientConfig() : DEFAULT_CONFIG,
          serializer: "json",
        });
        assert.strictEqual(await proxy.echo(secret), secret);
        proxy._pyroRelease();
        const wire = relay.bytes();
        assert(wire.length > 100);
        assert.strictEqual(contains(wire, "PYRO"), !tls);
        assert.strictEqual(contains(wire, secret), !tls);
        assert.strictEqual(contains(wire, "tls.echo"), !tls);
      } finally {
        relay.close();
      }
    });
  }
});

Deno.test("TLS over a Unix socket and over an already-connected socket", async (t) => {
  await t.step("Unix socket", async () => {
    const path = `${await Deno.makeTempDir()}/tls.sock`;
    await using daemon = new Daemon({ unixSocket: path, config: serverConfig() });
    daemon.register(exposeObject({ echo: (x: unknown) => x }), "tls.echo");
    await using proxy = new PyroProxy(`PYRO:tls.echo@./u:${path}`, { config: clientConfig() });
    assert.strictEqual(await proxy.echo("unix"), "unix");
    assert.strictEqual(proxy._pyroPeerCertificate?.subject.CN, "localhost");
  });
  for (const tls of [false, true]) {
    await t.step(`connected socket pair${tls ? ", TLS" : ""}`, async () => {
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const accepted = listener.accept();
      const clientSide = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      const serverSide = await accepted;
      await using daemon = new Daemon({
        connectedSocket: serverSide,
        config: tls ? serverConfig() : DEFAULT_CONFIG,
      });
      daemon.register(exposeObject({ echo: (x: unknown) => x }), "pair.echo");
      assert.strictEqual(daemon.locationStr, `127.0.0.1:${listener.addr.port}`);
      const proxy = new PyroProxy("pair.echo", {
        connectedSocket: clientSide,
        config: tls ? clientConfig() : DEFAULT_CONFIG,
      });
      assert.strictEqual(String(proxy._pyroUri), "PYRO:pair.echo@<<connected-socket>>:0");
      assert.strictEqual(await proxy.echo("paired"), "paired");
      assert.strictEqual(proxy._pyroPeerCertificate !== null, tls);
      proxy._pyroRelease();
      await rejectsWith(proxy.echo(1), /cannot reconnect/);
      await daemon.closed; // the daemon ends with its one connection
    });
  }
});

Deno.test("Daemon: the interface option replaces the built-in Pyro.Daemon object", async () => {
  @expose
  class Restricted extends DaemonObject {
    override registered(): string[] {
      return ["(hidden)"];
    }
  }
  await using daemon = new Daemon({ host: "127.0.0.1", interface: Restricted });
  daemon.register(exposeObject({ echo: (x: unknown) => x }), "x");
  await using proxy = new PyroProxy(daemon.uri);
  assert.deepStrictEqual(await proxy.registered(), ["(hidden)"]);
});

Deno.test("PREFER_IP_VERSION decides how localhost binds and resolves", async (t) => {
  for (const [version, expected] of [[6, "::1"], [4, "127.0.0.1"]] as const) {
    await t.step(`PREFER_IP_VERSION ${version}`, async () => {
      const config = { ...DEFAULT_CONFIG, PREFER_IP_VERSION: version };
      await using daemon = new Daemon({ host: "localhost", config });
      daemon.register(exposeObject({ echo: (x: unknown) => x }), "v");
      assert.strictEqual((daemon.addr as Deno.NetAddr).hostname, expected);
      assert.strictEqual(daemon.locationStr, `localhost:${(daemon.addr as Deno.NetAddr).port}`);
      await using proxy = new PyroProxy(`PYRO:v@${daemon.locationStr}`, { config });
      assert.strictEqual(await proxy.echo(version), version);
      assert.strictEqual((proxy._pyroLocalSocket as Deno.NetAddr).hostname, expected);
    });
  }
  await t.step("an IPv4 address with PREFER_IP_VERSION 6 is refused", () => {
    const config = { ...DEFAULT_CONFIG, PREFER_IP_VERSION: 6 };
    assert.throws(() => new Daemon({ host: "127.0.0.1", config }), CommunicationError);
  });
});

// ---- interop with Python Pyro5 ----

function sslEnv(extra: Record<string, string>): Record<string, string> {
  return { PYRO_SSL: "true", PYRO_SSL_CACERTS: at("ca.pem"), PYRO_COMMTIMEOUT: "5", ...extra };
}

async function pythonClient(
  uri: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const out = await new Deno.Command("python3", {
    args: [repoPath("tests/interop/tls_peer.py"), "client", uri, "from python"],
    env: { ...await peerEnv(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `python client failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.split("\n").at(-1)!);
}

Deno.test("TLS interop: a Python Pyro5 client calls a Deno daemon, one- and two-way", async (t) => {
  await t.step("one-way, the client checks the daemon's certificate subject", async () => {
    await using daemon = echoDaemon(serverConfig());
    const result = await pythonClient(`PYRO:tls.echo@${daemon.locationStr}`, sslEnv({}));
    assert.deepStrictEqual(result, {
      ok: "from python",
      server_subject: {
        countryName: "NL",
        organizationName: "Razorvine.net",
        commonName: "localhost",
      },
    });
  });
  await t.step("two-way, the daemon checks the client's certificate subject", async () => {
    const seen: unknown[] = [];
    await using daemon = echoDaemon(serverConfig({ SSL_REQUIRECLIENTCERT: true }), seen);
    const uri = `PYRO:tls.echo@${daemon.locationStr}`;
    const ok = await pythonClient(
      uri,
      sslEnv({ PYRO_SSL_CLIENTCERT: at("client.pem"), PYRO_SSL_CLIENTKEY: at("client.key") }),
    );
    assert.strictEqual(ok.ok, "from python");
    assert.deepStrictEqual(seen, [{
      secure: true,
      subject: { C: "NL", O: "Razorvine.net", CN: "client" },
    }]);
    const refused = await pythonClient(uri, sslEnv({}));
    assert(refused.error, JSON.stringify(refused));
    assert.strictEqual(seen.length, 1);
  });
  await t.step("refusals: wrong CA, expired, host name", async () => {
    for (
      const [cert, key] of [["stranger", "stranger"], ["expired", "expired"], [
        "wronghost",
        "wronghost",
      ]]
    ) {
      await using daemon = echoDaemon(serverConfig({
        SSL_SERVERCERT: at(`${cert}.pem`),
        SSL_SERVERKEY: at(`${key}.key`),
      }));
      const result = await pythonClient(`PYRO:tls.echo@${daemon.locationStr}`, sslEnv({}));
      assert.strictEqual(result.error, "CommunicationError", JSON.stringify(result));
      assert.match(String(result.message), /CERTIFICATE_VERIFY_FAILED|certificate/i);
    }
  });
  await t.step("a plain Python client gets an error, the daemon serves on", async () => {
    await using daemon = echoDaemon(serverConfig());
    const uri = `PYRO:tls.echo@${daemon.locationStr}`;
    const plain = await pythonClient(uri, { PYRO_COMMTIMEOUT: "5" });
    assert(plain.error, JSON.stringify(plain));
    assert.strictEqual((await pythonClient(uri, sslEnv({}))).ok, "from python");
  });
});

Deno.test("TLS interop: a Deno proxy calls a Python Pyro5 daemon, one- and two-way", async (t) => {
  for (const twoWay of [false, true]) {
    await t.step(twoWay ? "two-way" : "one-way", async () => {
      const env = sslEnv({
        PYRO_SSL_SERVERCERT: at("server.pem"),
        PYRO_SSL_SERVERKEY: at("server_enc.key"),
        PYRO_SSL_SERVERKEYPASSWD: KEY_PASSWORD,
        PYRO_SSL_REQUIRECLIENTCERT: String(twoWay),
      });
      const child = new Deno.Command("python3", {
        args: [repoPath("tests/interop/tls_peer.py"), "server"],
        env: { ...await peerEnv(), ...env },
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      const nextLine = async () => {
        while (!buffered.includes("\n")) {
          const { value, done } = await lines.read();
          if (done) throw new Error("python daemon ended");
          buffered += value;
        }
        const line = buffered.slice(0, buffered.indexOf("\n"));
        buffered = buffered.slice(line.length + 1);
        return line;
      };
      try {
        const uri = (await nextLine()).trim();
        assert.match(uri, /^PYRO:tls\.echo@localhost:\d+$/);
        await using proxy: PyroProxy = new PyroProxy(uri, {
          config: clientConfig(twoWay ? TWO_WAY_CLIENT : {}),
          validateHandshake: (): void => {
            assert.strictEqual(proxy._pyroPeerCertificate?.subject.O, "Razorvine.net");
          },
        });
        assert.strictEqual(await proxy.echo("from deno"), "from deno");
        if (twoWay) {
          assert.deepStrictEqual(JSON.parse(await nextLine()), {
            client_subject: {
              countryName: "NL",
              organizationName: "Razorvine.net",
              commonName: "client",
            },
          });
          await using bare = new PyroProxy(uri, { config: clientConfig() });
          await rejectsWith(bare.echo(1), /CommunicationError|ConnectionClosedError/);
        }
        await using wrongCa = new PyroProxy(uri, {
          config: clientConfig({
            SSL_CACERTS: at("other_ca.pem"),
            ...(twoWay ? TWO_WAY_CLIENT : {}),
          }),
        });
        await rejectsWith(wrongCa.echo(1), /TLS handshake failed/);
        assert.strictEqual(await proxy.echo("still"), "still");
      } finally {
        await child.stdin.close();
        lines.releaseLock();
        await child.stdout.cancel().catch(() => {});
        await child.status;
      }
    });
  }
});
