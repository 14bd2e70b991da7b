import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const REPOSITORY = path.resolve(__dirname, "../../..");

/**
 * scripts/pulumi-engine.sh on a machine with two clones (a developer's checkout and CI's, two
 * projects) sharing one engine cache: the one `pulumi-language-nodejs` it installs runs, for each
 * project, the language host of the clone the project takes pulumi-wireguard-fabric from,
 * whichever clone set the engine up last. A `pulumi` without a language host stands in for a
 * user's own installation (the branch that installs ours).
 */
describe("the engine script: each clone's projects run that clone's language host", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "wgf-engine-"));
    mkdirSync(path.join(dir, "fakebin"));
    writeFileSync(path.join(dir, "fakebin/pulumi"), "#!/bin/sh\necho v3.274.1\n");
    chmodSync(path.join(dir, "fakebin/pulumi"), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const env = () => ({ PATH: `${path.join(dir, "fakebin")}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, WG_FABRIC_CACHE: path.join(dir, "cache") });

  /** A clone at `root`: the scripts, a built language host that says whose it is, and a project taking the package from it. */
  const clone = (root: string): { root: string; project: string } => {
    for (const folder of ["scripts", "dist/tools/language-host", "project/node_modules"]) mkdirSync(path.join(root, folder), { recursive: true });
    for (const script of ["pulumi-engine.sh", "language-host.sh"]) copyFileSync(path.join(REPOSITORY, "scripts", script), path.join(root, "scripts", script));
    writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "pulumi-wireguard-fabric", exports: { "./package.json": "./package.json" } }));
    writeFileSync(path.join(root, "dist/tools/language-host/main.js"), `process.stdout.write(${JSON.stringify(root)} + " " + process.argv.slice(2).join(" "));`);
    symlinkSync(root, path.join(root, "project/node_modules/pulumi-wireguard-fabric"));
    return { root, project: path.join(root, "project") };
  };
  const setUp = (root: string): string => execFileSync("bash", [path.join(root, "scripts/pulumi-engine.sh")], { env: env(), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  /** What the installed language host runs for a project at `root`, as the engine starts it. */
  const hostFor = (bin: string, root: string): string =>
    execFileSync(path.join(bin, "pulumi-language-nodejs"), [`-root=${root}`, "127.0.0.1:1"], { env: env(), encoding: "utf8" });

  it("a project runs the host of the clone its package comes from, whichever clone ran the script last; one outside runs the last one's", () => {
    const first = clone(path.join(dir, "first"));
    const second = clone(path.join(dir, "second"));
    const bin = setUp(first.root);
    assert.equal(setUp(second.root), bin, "one shared cache");
    assert.equal(hostFor(bin, first.project), `${first.root} -root=${first.project} 127.0.0.1:1`);
    assert.equal(hostFor(bin, second.project), `${second.root} -root=${second.project} 127.0.0.1:1`);
    assert.equal(hostFor(bin, dir), `${second.root} -root=${dir} 127.0.0.1:1`);
  });
});
