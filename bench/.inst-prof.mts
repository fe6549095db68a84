import { installPackage } from "/work/main/src/conda/install/install";
import { readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
const archive = "/work/main/.e2e/channel/linux-64/python-3.12.1-hbac6bf3_0_cpython.conda";
const filename = "python-3.12.1-hbac6bf3_0_cpython.conda";
const sha256 = createHash("sha256").update(readFileSync(archive)).digest("hex");
for (let i = 0; i < 8; i++) {
  const out = (process.env.OUT ?? "/tmp") + `/instprof${i}`;
  const t0 = performance.now();
  await installPackage({ archive, url: `http://bench/linux-64/${filename}`, filename, sha256, prefix: "/opt/conda", outRoot: out } as any);
  console.log((performance.now() - t0).toFixed(0));
  rmSync(out, { recursive: true, force: true });
}
