// The CLI's entry in its bundle (dist/cli/wg-fabric-main.js), which bin.ts starts.
import { z } from "zod";
import { main } from "./main";

// A run parses each schema a few times (equal peers are parsed once): zod's compiled parsers
// would cost more start-up time to build than they save. The bundle has its own zod.
z.config({ jitless: true });
process.exitCode = main(process.argv.slice(2));
