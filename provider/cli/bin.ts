#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The `wg-fabric` command. The build bundles the CLI into one file (dist/cli/wg-fabric-main.js:
 * no module lookups at start-up, and only what it uses), which this runs from V8's code cache
 * beside it: Node 20 has no compile cache of its own (module.enableCompileCache is Node 22's).
 * The cache is made by the first run, and again when V8 refuses it (another node); a folder
 * the user cannot write to only costs the time. V8's young generation is kept small: the CLI's
 * data (a large fabrics.cfg's peers) lives until it exits, and a young generation grown to
 * V8's default would hold tens of megabytes more for nothing.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { Script } from "node:vm";

const file = path.join(__dirname, "wg-fabric-main.js");
const cacheFile = `${file}.cache`;

function cachedData(): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

const cached = cachedData();
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`, { filename: file, cachedData: cached });
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file));
if (cached === undefined || script.cachedDataRejected) {
  // after the run: the cache then holds the functions it compiled too
  const temporary = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cacheFile);
  } catch {
    rmSync(temporary, { force: true });
  }
}
