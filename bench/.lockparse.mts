import { readFileSync } from "node:fs";
import { readLock } from "/work/main/src/spec/lock";
import { parse } from "yaml";
const text = readFileSync("/tmp/p150-lock/conda-lock.yml", "utf8");
for (let i = 0; i < 5; i++) { const t = performance.now(); readLock("conda-lock.yml", text); const t1 = performance.now(); parse(text); console.log("readLock", (t1 - t).toFixed(1), "yaml.parse", (performance.now() - t1).toFixed(1)); }
