import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

const DEMO = path.resolve(__dirname, "../../lab/demo.js");

function demo(...args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, [DEMO, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  return { status: result.status, stdout: `${result.stdout}${result.stderr}` };
}

/**
 * `npm run demo` after its setup (which the suite's own setup has done): the lab, `pulumi up`,
 * pings and status, and last the fabric's picture, its path printed; `--down` leaves nothing.
 */
describe("the demo", function () {
  this.timeout(600_000);
  after(() => demo("--down"));

  it("ends by writing the fabric's picture (Graphviz's SVG) and printing its path; --down tears it all down", () => {
    const run = demo();
    assert.equal(run.status, 0, run.stdout.slice(-2000));
    const last = run.stdout.trimEnd().split("\n").pop() as string;
    const picture = /^The fabric as a picture: +(\S+\.svg)$/.exec(last)?.[1];
    assert.ok(picture, `the last line names the picture: ${last}`);
    assert.ok(existsSync(picture));
    const svg = readFileSync(picture, "utf8");
    assert.match(svg, /<svg/);
    for (const node of ["elementalist", "occultist", "berserker"]) assert.ok(svg.includes(node), `${node} drawn`);
    const down = demo("--down");
    assert.equal(down.status, 0, down.stdout.slice(-2000));
    assert.match(down.stdout, /no namespace, link, process or state of the demo is left/);
  });
});
