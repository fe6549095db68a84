// The e2e run's teardown: the images the tests tagged (harness.ts tag(): cf-e2e-<name>-<pid>-<n>)
// are removed from every engine when the run ends. Left behind, a few hundred images per run
// filled this machine's disk within a few dozen runs, and the runs after that failed.
import { allEngines, docker } from "./harness";

/** Removes every image tagged cf-e2e-* (this run's and any a killed run left) from each engine. */
function removeTestImages(): void {
  for (const engine of allEngines) {
    const listed = docker(engine, ["image", "ls", "--filter", "reference=cf-e2e-*", "--format", "{{.Repository}}:{{.Tag}}"]);
    if (listed.code !== 0) continue; // an engine that is not up has nothing of ours to remove
    const refs = listed.stdout.split("\n").filter((l) => l.startsWith("cf-e2e-"));
    for (let i = 0; i < refs.length; i += 100) docker(engine, ["image", "rm", "--force", ...refs.slice(i, i + 100)]);
  }
}

export default function setup(): () => void {
  return removeTestImages;
}
