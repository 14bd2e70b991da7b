// The CLI's entry in its bundle (dist/cli/wg-fabric-main.js), which bin.ts starts.
import { main } from "./main";

process.exitCode = main(process.argv.slice(2));
