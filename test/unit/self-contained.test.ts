import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const REPOSITORY = path.resolve(__dirname, "../../..");

/**
 * A user's clone has nothing beside it: the suite, its scripts, the lab and the benches read
 * only what the repository holds (the Proxmox VE corpus is in test/fixtures/pve-conformance).
 */
describe("the repository is whole: nothing reads a folder beside the clone", () => {
  it("no test, script, lab, bench or CI file names ../shared", () => {
    const beside = ["..", "shared"].join("/");
    const files = execFileSync("git", ["ls-files", "test", "scripts", "lab", "bench", "tools", ".ci"], { cwd: REPOSITORY, encoding: "utf8" }).split("\n").filter(Boolean);
    const readers = files.filter((file) => !file.startsWith("test/fixtures/") && execFileSync("cat", [file], { cwd: REPOSITORY, encoding: "latin1" }).includes(beside));
    assert.deepEqual(readers, []);
  });
});
