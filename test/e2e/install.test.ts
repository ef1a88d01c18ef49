/**
 * The package as a user gets it: `npm pack` (which builds), the tarball installed into an empty
 * folder, the CLI run as `npx guestops`. The install prefers the local npm cache (`--offline`,
 * then `--prefer-offline`) and runs no install scripts (the stateless commands never load the
 * store's native module); the test is skipped only when the registry cannot be reached at all.
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";

const sh = (
  cmd: string,
  args: string[],
  cwd: string,
  timeout = 180_000,
): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...process.env, npm_config_update_notifier: "false", NO_COLOR: "1" },
  });

const UNREACHABLE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|ECONNRESET/;

describe("the packed tarball installed in an empty folder", () => {
  let dir: string;
  let app: string;
  let skip: string | false = false;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "guestops-install-"));
    const pack = sh(NPM, ["pack", "--silent", "--pack-destination", dir], ROOT, 300_000);
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote a tarball");
    app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(
      join(app, "package.json"),
      '{ "name": "t", "version": "1.0.0", "private": true }\n',
    );
    const base = ["install", "--ignore-scripts", "--no-audit", "--no-fund", join(dir, tarball)];
    let install = sh(NPM, [...base, "--offline"], app);
    if (install.status !== 0) install = sh(NPM, [...base, "--prefer-offline"], app);
    if (install.status !== 0) {
      if (UNREACHABLE.test(install.stderr)) skip = "the npm registry cannot be reached";
      else assert.fail(`npm install of the tarball failed:\n${install.stderr}`);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const npx = (...args: string[]) => sh(NPX, ["--offline", "guestops", ...args], app, 60_000);

  it("ships the CLI, the docs and the LICENSE", (t) => {
    if (skip) return t.skip(skip);
    const pkg = join(app, "node_modules", "guestops");
    for (const f of [
      "LICENSE",
      "README.md",
      "docs/output.md",
      "docs/schema/operation.schema.json",
      "dist/cli/main.js",
    ]) {
      assert.ok(existsSync(join(pkg, f)), `${f} in the package`);
    }
    assert.equal(existsSync(join(pkg, "src")), false, "no sources");
    assert.equal(existsSync(join(pkg, "dist", ".tsbuildinfo")), false, "no build info");
  });

  it("runs as npx guestops: version, a scan of the example, help topics", (t) => {
    if (skip) return t.skip(skip);
    const version = npx("--version");
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    const scan = npx(
      "scan",
      join(ROOT, "examples", "logs"),
      "--policy",
      join(ROOT, "examples", "policy.yaml"),
      "--json",
      "-q",
    );
    assert.equal(scan.status, 0, scan.stderr);
    const doc = JSON.parse(scan.stdout) as { incidents: { severity: string }[] };
    assert.equal(doc.incidents.length, 3);
    assert.equal(doc.incidents[0]?.severity, "critical");
    assert.equal(scan.stderr, "", "-q: nothing on stderr");
    const help = npx("help", "output");
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^# Output of `guestops events`/);
  });
});
