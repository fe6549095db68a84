import { readFileSync } from "node:fs";
import { readLock } from "/work/main/src/spec/lock";
import { installStage } from "/work/main/src/stages/install";
import { marshal, merge, State } from "/work/main/src/llb";
const lock = readLock("conda-lock.yml", readFileSync("/tmp/p150-lock/conda-lock.yml", "utf8"));
const platform = { OS: "linux", Architecture: "amd64" };
const tool = { ref: "localhost/x:1", digest: "sha256:" + "0".repeat(64), platform, entrypoint: ["/nodejs/bin/node"], env: [] };
const caps = new Set(["source.image", "source.http", "source.http.checksum", "exec.meta.base", "exec.mount.bind", "exec.mount.tmpfs", "exec.meta.network", "file.base", "constraints", "platform", "meta.description"]);
for (let i = 0; i < 30; i++) {
  const t0 = performance.now();
  const stage = installStage({ tool, packages: lock.packages, prefix: "/opt/conda", requested: {}, variables: [], ignoreCache: false, compilePyc: true, privateChannels: [], network: "sandbox" } as any);
  const t1 = performance.now();
  const base = State.image("localhost/base:1", platform, { digest: "sha256:" + "1".repeat(64) });
  const d1 = marshal(merge([base, ...stage.layers], { name: "x" }), { caps });
  const t2 = performance.now();
  let actions: any; 
  console.log("stage", (t1 - t0).toFixed(1), "marshal", (t2 - t1).toFixed(1), "ops", d1.def!.length);
}
