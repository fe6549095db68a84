// The installer's own work for a whole environment: every package of a list installed one after
// the other in this one process, archives already on disk, each into an output root of its own
// (as each package's layer is written), with the step's environment (the bench passes
// installProcessEnv). Prints the time from the first install's start to the last one's end, in
// ms, on stdout; Node's start and loading the installer are left out.
// Usage: install-all.ts <requests.json>, a JSON array of InstallRequest.
import { readFileSync } from "node:fs";
import { installPackage } from "../src/build-step/install/install";
import type { InstallRequest } from "../src/conda/install-request";

const [file] = process.argv.slice(2);
if (!file) throw new Error("usage: install-all.ts <requests.json>");
const requests = JSON.parse(readFileSync(file, "utf8")) as InstallRequest[];
const t0 = performance.now();
for (const req of requests) await installPackage(req);
process.stdout.write(`${(performance.now() - t0).toFixed(2)}\n`);
