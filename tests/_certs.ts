/**
 * Certificates for the TLS tests, made with the `openssl` command (installed from Debian's
 * packages on first use) in a temporary folder, once per test process:
 *
 * - `ca.pem`: the test CA; `other_ca.pem`: another CA nobody trusts
 * - `server.pem`/`server.key`: `localhost`, 127.0.0.1 and ::1, signed by the CA (subject
 *   C=NL, O=Razorvine.net, CN=localhost, as Pyro5's ssl example checks)
 * - `server_enc.key`: the same key, encrypted with the password {@linkcode KEY_PASSWORD}
 * - `client.pem`/`client.key`: a client certificate (CN=client), signed by the CA
 * - `expired.pem`/`expired.key`: a server certificate whose validity ended yesterday
 * - `stranger.pem`/`stranger.key`: a server certificate for localhost from the other CA
 * - `wronghost.pem`/`wronghost.key`: a certificate of the CA for `elsewhere.example`
 * - `stranger_client.pem`/`.key`: a client certificate from the other CA
 * - `v1.pem`/`v1.key`: an X.509 version 1 server certificate of the CA
 *
 * Permissions: `--allow-run=openssl,bash,apt-get --allow-write --allow-read`.
 *
 * @module
 */

/** The password of `server_enc.key`. */
export const KEY_PASSWORD = "secret";

let made: Promise<string> | undefined;

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function ensureOpenssl(): Promise<void> {
  try {
    await run("openssl", ["version"], "/");
  } catch {
    await run("bash", ["-c", "apt-get update -qq && apt-get install -y -qq openssl"], "/");
  }
}

async function make(): Promise<string> {
  await ensureOpenssl();
  const dir = await Deno.makeTempDir({ prefix: "pyro-deno-certs-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const o = (args: string[]) => run("openssl", args, dir);
  const key = (name: string) =>
    o(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name]);
  const ext = async (name: string, text: string) =>
    await Deno.writeTextFile(`${dir}/${name}`, text);
  await ext("server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
  await ext("wronghost.ext", "subjectAltName=DNS:elsewhere.example\n");
  await ext("client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  for (const ca of ["ca", "other_ca"]) {
    await key(`${ca}.key`);
    await o([
      "req",
      "-x509",
      "-new",
      "-key",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
      "-days",
      "30",
      "-subj",
      `/O=Razorvine.net/CN=Pyro test ${ca}`,
    ]);
  }
  const leaf = async (
    name: string,
    subject: string,
    options: { ca?: string; days?: string; extfile?: string | null } = {},
  ) => {
    await key(`${name}.key`);
    await o(["req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
    const ca = options.ca ?? "ca";
    const extfile = options.extfile === undefined ? "server.ext" : options.extfile;
    await o([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      options.days ?? "30",
      ...(extfile ? ["-extfile", extfile] : []),
    ]);
  };
  await leaf("server", "/C=NL/O=Razorvine.net/CN=localhost");
  await leaf("client", "/C=NL/O=Razorvine.net/CN=client", { extfile: "client.ext" });
  await leaf("expired", "/C=NL/O=Razorvine.net/CN=localhost", { days: "-1" });
  await leaf("stranger", "/C=NL/O=Elsewhere/CN=localhost", { ca: "other_ca" });
  await leaf("stranger_client", "/C=NL/O=Elsewhere/CN=client", {
    ca: "other_ca",
    extfile: "client.ext",
  });
  await leaf("wronghost", "/C=NL/O=Razorvine.net/CN=elsewhere.example", {
    extfile: "wronghost.ext",
  });
  await leaf("v1", "/C=NL/O=Razorvine.net/CN=localhost", { extfile: null });
  await o([
    "pkey",
    "-in",
    "server.key",
    "-aes256",
    "-passout",
    `pass:${KEY_PASSWORD}`,
    "-out",
    "server_enc.key",
  ]);
  return dir;
}

/**
 * The folder with the test certificates, made on the first call.
 *
 * @returns the folder's path (no trailing slash)
 */
export function testCerts(): Promise<string> {
  made ??= make();
  return made;
}
