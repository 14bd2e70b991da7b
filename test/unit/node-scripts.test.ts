import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { endpointRefreshScript, MANAGED_PREFIX, nodeScript, SCRIPT_ARGUMENTS, type NodeScript } from "../../provider/remote";

const SCRIPTS: readonly NodeScript[] = ["ensure-key", "remove-key", "inspect", "apply", "remove", "node-address", "pair-keys"];

describe("node scripts (provider/remote/scripts/*.sh) as they run on a node", () => {
  for (const name of SCRIPTS) {
    it(`${name}: parses (sh -n) and passes shellcheck as sent, common.sh inlined`, () => {
      const text = nodeScript(name);
      assert.ok(!text.includes('. "${0%/*}/common.sh"') && text.includes(MANAGED_PREFIX), "common.sh is inlined, the marker filled in");
      execFileSync("sh", ["-n"], { input: text });
      try {
        execFileSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: text, encoding: "utf8" });
      } catch (error) {
        assert.fail(`shellcheck on ${name}.sh:\n${String((error as { stdout?: string }).stdout ?? error)}`);
      }
    });
  }

  it("endpoint-refresh.sh, which runs on its own (no common.sh), parses and passes shellcheck as installed", () => {
    const text = endpointRefreshScript();
    assert.ok(!text.includes("common.sh\""), "it sources nothing");
    execFileSync("sh", ["-n"], { input: text });
    try {
      execFileSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: text, encoding: "utf8" });
    } catch (error) {
      assert.fail(`shellcheck on endpoint-refresh.sh:\n${String((error as { stdout?: string }).stdout ?? error)}`);
    }
  });

  it("the lab's Proxmox VE stand-ins (lab/pve/*.sh) pass shellcheck", () => {
    const dir = path.resolve(__dirname, "../../../lab/pve");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".sh"))) {
      try {
        execFileSync("shellcheck", ["--severity=style", path.join(dir, file)], { encoding: "utf8" });
      } catch (error) {
        assert.fail(`shellcheck on lab/pve/${file}:\n${String((error as { stdout?: string }).stdout ?? error)}`);
      }
    }
  });

  it("common.sh reads the arguments in the order the contract sends them", () => {
    const common = readFileSync(path.resolve(__dirname, "../../provider/remote/scripts/common.sh"), "utf8");
    // past $9 the shell needs braces: $10 is $1 followed by 0
    const assignment = SCRIPT_ARGUMENTS.map((name, i) => `${name}=${i < 9 ? `$${i + 1}` : `\${${i + 1}}`}`).join(" ");
    assert.ok(common.split("\n").includes(assignment), `common.sh must assign: ${assignment}`);
  });
});
