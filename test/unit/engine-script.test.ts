import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const REPOSITORY = path.resolve(__dirname, "../../..");

/**
 * scripts/pulumi-engine.sh on a machine with two clones (a developer's checkout and CI's, two
 * projects) sharing one engine cache: each clone's PATH runs its own language host, whichever
 * clone ran the script last. A `pulumi` without a language host stands in for a user's own
 * installation (the branch that writes ours).
 */
describe("the engine script: one language host per clone", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "wgf-engine-"));
    mkdirSync(path.join(dir, "fakebin"));
    writeFileSync(path.join(dir, "fakebin/pulumi"), "#!/bin/sh\necho v3.274.1\n");
    chmodSync(path.join(dir, "fakebin/pulumi"), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A clone at `root` with the script and a built language host. */
  const clone = (root: string): string => {
    mkdirSync(path.join(root, "scripts"), { recursive: true });
    mkdirSync(path.join(root, "dist/tools/language-host"), { recursive: true });
    copyFileSync(path.join(REPOSITORY, "scripts/pulumi-engine.sh"), path.join(root, "scripts/pulumi-engine.sh"));
    writeFileSync(path.join(root, "dist/tools/language-host/main.js"), "");
    return root;
  };
  /** The PATH entries the script prints for `root`, run with the shared cache. */
  const run = (root: string): string[] =>
    execFileSync("bash", [path.join(root, "scripts/pulumi-engine.sh")], {
      env: { PATH: `${path.join(dir, "fakebin")}:/usr/bin:/bin`, HOME: dir, WG_FABRIC_CACHE: path.join(dir, "cache") },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .trim()
      .split(":");
  const hostOf = (bin: string): string => readFileSync(path.join(bin, "pulumi-language-nodejs"), "utf8");

  it("each clone's PATH starts with its own language host, whichever ran last; none is left in the shared cache", () => {
    const first = clone(path.join(dir, "first"));
    const second = clone(path.join(dir, "second"));
    const firstPath = run(first);
    const secondPath = run(second);
    assert.ok(firstPath[0]?.startsWith(first), firstPath.join(":"));
    assert.ok(secondPath[0]?.startsWith(second), secondPath.join(":"));
    assert.match(hostOf(firstPath[0] as string), new RegExp(`${first}/dist/tools/language-host/main.js`));
    assert.match(hostOf(secondPath[0] as string), new RegExp(`${second}/dist/tools/language-host/main.js`));
    assert.equal(execFileSync("find", [path.join(dir, "cache"), "-name", "pulumi-language-nodejs"], { encoding: "utf8" }), "");
  });
});
