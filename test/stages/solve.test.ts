// The solve stage: the exec op that runs the solve request, and the lock target's file.
import { describe, expect, it } from "vitest";
import { host, plan } from "../plan/helpers";
import { marshal } from "../../src/llb";
import { MountType, NetMode, type PbDefinition, type PbMount } from "../../src/llb/pb";
import type { ToolImage } from "../../src/plan/image-plan";
import { solveRequest } from "../../src/plan/lock-request";
import { lockFileState, solveStage, toolState } from "../../src/stages/solve";
import { decodeOps, metadataOf, resultOp } from "../llb/helpers";

const arm64 = { OS: "linux", Architecture: "arm64" };

const conda = (text: string, ...options: string[]) => plan(text, ...options).conda;

const envText = "name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - bioconda::samtools >=1.19\n";

const tool: ToolImage = {
  ref: "docker.io/example/conda-frontend:1",
  digest: "sha256:" + "a".repeat(64),
  platform: host,
  entrypoint: ["node", "/frontend/cli.js"],
  env: ["PATH=/usr/bin:/bin"],
};

const name = (def: PbDefinition, digest: string) => metadataOf(def, digest)?.description?.find((d) => d.key === "llb.customname")?.value;

function execOf(def: PbDefinition) {
  const exec = decodeOps(def).find((o) => o.op.exec);
  if (!exec) throw new Error("no exec op");
  return exec;
}

describe("solveStage", () => {
  const request = () => solveRequest(conda(envText), [{ platform: host, baseGlibc: "2.36" }], "environment.yml");

  it("runs the tool's solve command on the request with host networking", () => {
    const def = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    const exec = execOf(def).op.exec!;
    expect(exec.meta.args).toEqual(["node", "/frontend/cli.js", "solve", "/in/request.json", "/out"]);
    expect(exec.network).toBe(NetMode.HOST);
    expect(exec.meta.env).toEqual(["PATH=/usr/bin:/bin"]);
  });

  it("uses the sandbox network unless told otherwise", () => {
    const def = marshal(solveStage({ tool, request: request(), network: "sandbox", ignoreCache: false }));
    expect(execOf(def).op.exec!.network ?? 0).toBe(NetMode.UNSET);
  });

  it("mounts the request read-only at /in, /out writable and a tmpfs /tmp", () => {
    const def = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    const mounts = execOf(def).op.exec!.mounts as PbMount[];
    const at = (dest: string) => mounts.find((m) => m.dest === dest)!;
    expect(mounts.map((m) => m.dest)).toEqual(["/", "/in", "/out", "/tmp"]);
    expect(at("/in").readonly).toBe(true);
    expect(at("/out").readonly ?? false).toBe(false);
    expect(at("/tmp").mountType).toBe(MountType.TMPFS);
    // The result is the /out mount.
    const terminal = decodeOps(def).at(-1)!;
    expect(terminal.op.inputs![0]!.index).toBe(at("/out").output);
  });

  it("runs the tool image pinned by digest", () => {
    const def = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    const source = decodeOps(def).find((o) => o.op.source)!;
    expect(source.op.source!.identifier).toBe(`docker-image://${tool.ref}@${tool.digest}`);
  });

  it("roots the solve step on a tool vertex of its own, not the one the install steps share", () => {
    const solveRoot = decodeOps(marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }))).find((o) => o.op.source)!;
    const installRoot = decodeOps(marshal(toolState(tool))).find((o) => o.op.source)!;
    expect(solveRoot.op.source!.identifier).toBe(installRoot.op.source!.identifier);
    expect(solveRoot.op.source!.attrs).toEqual([{ key: "image.recordtype", value: "internal" }]);
    expect(installRoot.op.source!.attrs ?? []).toEqual([]);
    expect(solveRoot.digest).not.toBe(installRoot.digest);
  });

  it("names the step after the platforms, specs and channels", () => {
    const def = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    expect(name(def, execOf(def).digest)).toBe("[solve linux-64] 2 specs from 1 channel");
    const two = solveRequest(conda(envText.replace("conda-forge\n", "conda-forge\n  - bioconda\n")), [{ platform: host }, { platform: arm64 }], "environment.yml");
    const def2 = marshal(solveStage({ tool, request: two, network: "host", ignoreCache: false }));
    expect(name(def2, execOf(def2).digest)).toBe("[solve linux-64, linux-aarch64] 2 specs from 2 channels");
  });

  it("marks the exec ignore_cache only when asked", () => {
    const cached = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    expect(metadataOf(cached, execOf(cached).digest)?.ignore_cache ?? false).toBe(false);
    const fresh = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: true }));
    expect(metadataOf(fresh, execOf(fresh).digest)?.ignore_cache).toBe(true);
  });

  it("writes the request as JSON into /request.json of the /in mount", () => {
    const req = request();
    const def = marshal(solveStage({ tool, request: req, network: "host", ignoreCache: false }));
    const file = decodeOps(def).find((o) => o.op.file?.actions.some((a) => a.mkfile))!;
    const mkfile = file.op.file!.actions.find((a) => a.mkfile)!.mkfile!;
    expect(mkfile.path).toBe("/request.json");
    const text = Buffer.from(mkfile.data!).toString("utf8");
    expect(JSON.parse(text)).toEqual(req);
    expect(text).toBe(JSON.stringify(req, null, 1));
  });

  it("gives the same LLB for the same request and a different one for another request", () => {
    const a = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    const b = marshal(solveStage({ tool, request: request(), network: "host", ignoreCache: false }));
    expect(resultOp(a).digest).toBe(resultOp(b).digest);
    const other = solveRequest(conda(envText.replace("python=3.12", "python=3.11")), [{ platform: host, baseGlibc: "2.36" }], "environment.yml");
    expect(resultOp(marshal(solveStage({ tool, request: other, network: "host", ignoreCache: false }))).digest).not.toBe(resultOp(a).digest);
  });
});

describe("lockFileState", () => {
  it("writes given text to /conda-lock.yml", () => {
    const def = marshal(lockFileState(undefined, "version: 1\npackage: []\n"));
    const mkfile = resultOp(def).op.file!.actions[0]!.mkfile!;
    expect(mkfile.path).toBe("/conda-lock.yml");
    expect(Buffer.from(mkfile.data!).toString("utf8")).toBe("version: 1\npackage: []\n");
    expect(name(def, resultOp(def).digest)).toBe("[lock] conda-lock.yml");
  });

  it("copies /conda-lock.yml from the solve step's output", () => {
    const out = solveStage({ tool, request: solveRequest(conda(envText), [{ platform: host }], "environment.yml"), network: "host", ignoreCache: false });
    const def = marshal(lockFileState(out));
    const copy = resultOp(def).op.file!.actions[0]!.copy!;
    expect(copy.src).toBe("/conda-lock.yml");
    expect(copy.dest).toBe("/conda-lock.yml");
  });
});
