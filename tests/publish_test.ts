/**
 * The commands as a user installs them: `deno install -g` of each command entry point of the
 * package (`./ns`, `./nsc`, `./echoserver`, `./check-config`, `./messagebus-server` in deno.json's
 * exports) into a
 * temporary root, then the installed command runs. (What the package holds is checked by
 * `deno publish --dry-run` in scripts/test.sh.)
 *
 * Permissions: `--allow-run --allow-read --allow-write`.
 */
import assert from "node:assert";
import { repoPath } from "./_peer.ts";

const denoJson = JSON.parse(Deno.readTextFileSync(repoPath("deno.json"))) as {
  exports: Record<string, string>;
};

const COMMANDS: [string, RegExp][] = [
  ["./ns", /^usage: ns /m],
  ["./nsc", /^usage: nsc /m],
  ["./echoserver", /^usage: echoserver /m],
  ["./check-config", /Pyro version|PYRO_|usage/],
  ["./messagebus-server", /^usage: messagebus /m],
  ["./httpgateway-server", /^usage: httpgateway /m],
];

Deno.test("commands: each command export installs with deno install and runs", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "pyro-deno-install-" });
  try {
    for (const [entry, usage] of COMMANDS) {
      await t.step(entry, async () => {
        const path = denoJson.exports[entry];
        assert(path, `deno.json exports ${entry}`);
        const name = `pyro-${entry.slice(2)}`;
        const install = await new Deno.Command(Deno.execPath(), {
          args: ["install", "-g", "-f", "--root", root, "-A", "-n", name, repoPath(path)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(install.success, new TextDecoder().decode(install.stderr));
        const args = entry === "./check-config" ? [] : ["--help"];
        const run = await new Deno.Command(`${root}/bin/${name}`, {
          args,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
        assert(run.success, text);
        assert.match(text, usage);
      });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
