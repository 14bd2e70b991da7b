import * as assert from "node:assert/strict";
import { prepareFabric, validateFabric } from "../../provider/fabric";
import { parseFabricOrThrow } from "../../provider/model";
import { parseSectionConfig } from "../../provider/section-config";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { rfcSpec } from "./helpers";

describe("prepareFabric: the one way from input to a fabric to act on", () => {
  it("gives the fabric, its resolved interfaces and its warnings; or every problem, errors and warnings alike", () => {
    const ready = prepareFabric(rfcSpec());
    assert.ok(ready.ok);
    assert.deepEqual(ready.views.map((view) => view.id), ["elementalist/wg0", "occultist/wg0"]);
    assert.deepEqual(ready.warnings, validateFabric(ready.fabric), "the warnings are validation's");

    const broken = rfcSpec();
    broken.nodes.occultist.peers[0].node = "berserkr";
    const refused = prepareFabric(broken);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.problems.some((problem) => problem.severity === "error" && /berserkr/.test(problem.message)));

    const unparsable = prepareFabric({ ...rfcSpec(), nodes: { occultist: { role: "wizard" } } });
    assert.ok(!unparsable.ok && unparsable.problems.some((problem) => /role must be "internal" or "external"/.test(problem.message)), "schema problems come the same way");
  });

  it("takes a fabric the parser made as it is (the fabrics.cfg reader's), and parses anything else", () => {
    const parsed = parseFabricOrThrow(rfcSpec());
    const ready = prepareFabric(parsed);
    assert.ok(ready.ok && ready.fabric === parsed, "not parsed again");
    const input = rfcSpec();
    const again = prepareFabric(input);
    assert.ok(again.ok && (again.fabric as unknown) !== input && again.fabric.nodes.occultist?.role === "internal", "input is parsed");
    const config = parseSectionConfig(readFileSync(path.join(__dirname, "../../../test/fixtures/proxmox-fabrics.cfg"), "utf8"));
    for (const fabric of config.fabrics) assert.equal(prepareFabric(fabric).ok, true, fabric.name);
  });

  it("keeps the public keys of internal interfaces out of a Pulumi program's fabric", () => {
    const spec = rfcSpec();
    spec.nodes.occultist.interfaces.wg0.publicKey = "O+Kzrochm6klMILjSKVw83xb3YyXXLpmZj9n/ICM5xE=";
    const refused = prepareFabric(spec, { publicKeysAreOutputs: true });
    assert.ok(!refused.ok && refused.problems.some((problem) => problem.where === "occultist: wg0: publicKey"));
  });

  it("problems carry their place as data: the model's path, and the file, line and fabric of a fabrics.cfg; where is written from them", () => {
    const broken = rfcSpec();
    broken.nodes.occultist.peers[0].node = "berserkr";
    const refused = prepareFabric(broken);
    const problem = !refused.ok ? refused.problems.find((p) => /berserkr/.test(p.message)) : undefined;
    assert.deepEqual(problem?.path, ["nodes", "occultist", "peers", 0, "node"]);
    assert.equal(problem?.where, "occultist: peers[0]: node");
    const text = "wireguard_fabric: vpn\n\nwireguard_node: vpn_a\n\trole internal\n\tinterfaces name=wg0,listen_port=51820\n\tlisten_prot 3\n";
    assert.throws(
      () => parseSectionConfig(text, "site.cfg"),
      (error: { problems?: readonly { file?: string; line?: number; fabric?: string; path: readonly unknown[]; where: string }[] }) => {
        const unknown = error.problems?.[0];
        assert.deepEqual([unknown?.file, unknown?.line, unknown?.fabric, unknown?.path], ["site.cfg", 6, "vpn", ["nodes", "a", "listen_prot"]]);
        assert.equal(unknown?.where, "site.cfg:6: vpn: a: listen_prot");
        return true;
      },
    );
  });
});
