#!/usr/bin/env -S node --max-semi-space-size=8
// The `wg-fabric` command. The build bundles it into one file (dist/cli/wg-fabric.js): no module
// lookups at start-up, and only what the CLI uses. V8's young generation is kept small: the
// CLI's data (a large fabrics.cfg's peers) lives until it exits, and a young generation grown
// to V8's default would hold tens of megabytes more for nothing.
import { main } from "./main";

process.exitCode = main(process.argv.slice(2));
