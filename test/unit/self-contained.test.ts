import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const REPOSITORY = path.resolve(__dirname, "../../..");

/**
 * A user's clone has nothing beside it: the suite, its scripts, the lab and the benches read
 * only what the repository holds (the Proxmox VE corpus is in test/fixtures/pve-conformance).
 */
describe("the repository is whole: nothing reads a folder beside the clone", () => {
  it("no test, script, lab, bench or CI file names the shared folder beside our own checkouts", () => {
    const beside = ["..", "shared"].join("/");
    const files = execFileSync("git", ["ls-files", "-z", "test", "scripts", "lab", "bench", "tools", ".ci"], { cwd: REPOSITORY, encoding: "utf8" }).split("\0").filter(Boolean);
    const readers = files.filter((file) => !file.startsWith("test/fixtures/") && readFileSync(path.join(REPOSITORY, file), "latin1").includes(beside));
    assert.deepEqual(readers, []);
  });
});
