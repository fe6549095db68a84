// A generated conda channel for the solver benchmark: many package names, many versions each,
// dependencies with version ranges between them, like a slice of conda-forge. Deterministic.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "../test/fixtures/seeded-random";

export interface GeneratedChannel {
  records: number;
  /** Names a request can ask for (the top of the dependency tree). */
  roots: string[];
}

export function generateChannel(dir: string, names = 2500, versionsPerName = 20): GeneratedChannel {
  const rand = seededRandom(42);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");
  const subdirs: Record<string, Record<string, object>> = { "linux-64": {}, noarch: {} };
  let records = 0;
  for (let i = 0; i < names; i++) {
    const name = `pkg${String(i).padStart(5, "0")}`;
    const subdir = i % 10 === 0 ? "noarch" : "linux-64";
    for (let v = 0; v < versionsPerName; v++) {
      const version = `${1 + Math.floor(v / 5)}.${v % 5}.0`;
      // Depend only on higher-numbered names (no cycles; the roots are low-numbered), far apart
      // so an environment pulls in a few hundred packages, not the whole channel. Constraints are
      // the usual shapes (lower bounds, pins to a major) and mostly satisfiable by new versions,
      // as in a healthy channel; older versions of a package pin older majors of its deps.
      const depends = ["__glibc >=2.17"];
      const count = rand() < 0.35 ? 0 : rand() < 0.7 ? 1 : 2;
      for (let d = 0; d < count && i + 1 < names; d++) {
        const j = i + 1 + Math.floor(rand() * Math.min(800, names - i - 1));
        const dep = `pkg${String(j).padStart(5, "0")}`;
        const newest = 4;
        const major = v >= versionsPerName - 5 ? newest : 1 + Math.floor(rand() * newest);
        depends.push(rand() < 0.5 ? `${dep} >=${major - 1 || 1}.0` : `${dep} >=${major}.0,<${major + 1}.0a0`);
      }
      const build = `h${hex(7)}_0`;
      subdirs[subdir]![`${name}-${version}-${build}.conda`] = {
        name, version, build, build_number: 0, depends: subdir === "noarch" ? depends.slice(1) : depends, subdir,
        md5: hex(32), sha256: hex(64), size: 1000 + Math.floor(rand() * 1e6), license: "MIT", timestamp: 1700000000000,
        ...(subdir === "noarch" ? { noarch: "generic" } : {}),
      };
      records++;
    }
  }
  for (const [subdir, packages] of Object.entries(subdirs)) {
    mkdirSync(join(dir, subdir), { recursive: true });
    writeFileSync(join(dir, subdir, "repodata.json"), JSON.stringify({ info: { subdir }, packages: {}, "packages.conda": packages }));
  }
  return { records, roots: Array.from({ length: 20 }, (_, k) => `pkg${String(k * 7 + 1).padStart(5, "0")}`) };
}
