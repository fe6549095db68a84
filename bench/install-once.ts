// One install of one package in a process of its own, as a build step runs it: a fresh process
// (no code warmed by earlier runs, no memory freed by them to reuse), with the step's environment
// (the bench passes installProcessEnv). Prints how long the install took, in ms, on stdout; Node's
// own start is left out (a step's starts from the image's snapshot, these from sources). Also
// prints the process's peak memory.
import { installPackage } from "../src/build-step/install/install";

const [archive, outRoot, sha256, md5] = process.argv.slice(2);
if (!archive || !outRoot || !sha256 || !md5) throw new Error("usage: install-once.ts <archive> <out root> <sha256> <md5>");
const filename = archive.slice(archive.lastIndexOf("/") + 1);
const t0 = performance.now();
await installPackage({ archive, url: `http://bench/linux-64/${filename}`, filename, sha256, md5, prefix: "/opt/conda", outRoot });
// The time, then the process's peak resident memory (KiB) on a second line.
process.stdout.write(`${(performance.now() - t0).toFixed(2)}\n${process.resourceUsage().maxRSS}\n`);
