import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { recordedPublicKeys, renderWg, resolveInterfaces, validateFabric } from "../../provider/fabric";
import { parseSectionConfig, writeSectionConfig } from "../../provider/section-config";
import { formatProblem } from "../../provider/model";

export const FIXTURES = path.join(__dirname, "../../../test/fixtures");

describe("the RFC example", () => {
  const text = readFileSync(path.join(FIXTURES, "rfc-fabrics.cfg"), "utf8");
  const golden = readFileSync(path.join(FIXTURES, "rfc-occultist-wg0.conf"), "utf8");

  it("parses, validates with only the one-sided warning, and renders occultist/wg0 byte for byte", () => {
    const { fabrics } = parseSectionConfig(text);
    assert.equal(fabrics.length, 1);
    const fabric = fabrics[0]!;
    assert.deepEqual(validateFabric(fabric).map(formatProblem), [
      'warning: occultist: peers[0]: elementalist/wg0 has no peer back to occultist/wg0: the tunnel cannot come up; add to elementalist: { type: "internal", node: "occultist", nodeIface: "wg0", iface: "wg0" }',
    ]);
    const view = resolveInterfaces(fabric).find((v) => v.id === "occultist/wg0")!;
    const rendered = renderWg(view, { publicKeys: recordedPublicKeys(fabric), privateKey: "<some_private_key>" });
    assert.equal(rendered, golden);
  });

  it("omits the PrivateKey line when no key is supplied", () => {
    const fabric = parseSectionConfig(text).fabrics[0]!;
    const view = resolveInterfaces(fabric).find((v) => v.id === "occultist/wg0")!;
    const rendered = renderWg(view, { publicKeys: recordedPublicKeys(fabric) });
    assert.equal(rendered, golden.replace("PrivateKey = <some_private_key>\n", ""));
  });

  it("round-trips to canonical text in both dialects", () => {
    for (const dialect of ["proxmox", "rfc"] as const) {
      const canonical = writeSectionConfig(parseSectionConfig(text), { dialect });
      assert.equal(writeSectionConfig(parseSectionConfig(canonical), { dialect }), canonical);
      assert.equal(parseSectionConfig(canonical).dialect, dialect);
    }
    const canonical = writeSectionConfig(parseSectionConfig(text), { dialect: "rfc" });
    assert.match(canonical, /^wireguard_node: vpn_occultist\n\tendpoint 192\.0\.2\.2\n\tinterfaces name=wg0,listen_port=50000,public_key=y0kOpXfo9ff4KoUwO3H1cRuwObbKwsK8mAkwXxNvKUc=,ip=198\.51\.100\.2\/24\n\tpeers type=internal,node=elementalist,node_iface=wg0,iface=wg0\n\tpeers type=external,node=berserker,iface=wg0\n\trole internal$/m);
  });
});
