// pipStage(): the pip: list installed by the environment's python, in its own step and layer.
import { describe, expect, it } from "vitest";
import { marshal, State } from "../../src/llb";
import { MountType, NetMode } from "../../src/llb/pb";
import { lineRange } from "../../src/input/source";
import { pipStage, pipSecrets } from "../../src/stages/pip";
import { decodeOps, opByDigest, resultOp } from "../llb/helpers";

const platform = { OS: "linux", Architecture: "amd64" };
const env = State.image("localhost:5000/base:1", platform, { digest: `sha256:${"a".repeat(64)}` });

function stage(pipEnv: Record<string, string> = {}) {
  const s = pipStage({
    env,
    prefix: "/opt/conda",
    requirements: ["--no-index", "greetwheel==1.0"],
    pipEnv,
    prune: { remove: ["*.a"], keep: [] },
    compilePyc: true,
    network: "host",
    ignoreCache: false,
    sourceRanges: [lineRange(10)],
  });
  const def = marshal(s.state);
  const exec = resultOp(def);
  return { s, def, exec: exec.op.exec!, at: (dest: string) => exec.op.exec!.mounts.find((m) => m.dest === dest) };
}

describe("pipStage", () => {
  it("runs the environment's python on the environment, as root, with the requested network", () => {
    const { exec } = stage();
    expect(exec.meta.args).toEqual(["/opt/conda/bin/python", "/in/run.py"]);
    expect(exec.meta.user).toBe("0:0");
    expect(exec.network).toBe(NetMode.HOST);
  });

  it("passes the PIP_* build args and points pip's config at the optional pip-conf secret", () => {
    const { exec } = stage({ PIP_FIND_LINKS: "http://127.0.0.1:8765/wheels/" });
    expect(exec.meta.env).toContain("PIP_FIND_LINKS=http://127.0.0.1:8765/wheels/");
    expect(exec.meta.env).toContain(`PIP_CONFIG_FILE=${pipSecrets.pipConf.path}`);
  });

  it("mounts credentials only as optional secrets, never as files or variables in the definition", () => {
    const { at, def } = stage();
    for (const secret of [pipSecrets.pipConf, pipSecrets.netrc]) {
      const m = at(secret.path)!;
      expect(m.mountType).toBe(MountType.SECRET);
      expect(m.secretOpt).toMatchObject({ ID: secret.id, optional: true });
    }
    // Nothing in the definition but the secret's name.
    const text = JSON.stringify(decodeOps(def));
    expect(text).not.toMatch(/password|token/i);
  });

  it("keeps pip's cache in a cache mount, and its size report in a mount of its own, not in the layer", () => {
    const { at, s } = stage();
    const cache = at("/root/.cache/pip")!;
    expect(cache.mountType).toBe(MountType.CACHE);
    expect(cache.cacheOpt).toMatchObject({ ID: "conda-frontend-pip" });
    const report = at("/report")!;
    expect(report.input).toBe(-1);
    const reportDef = marshal(s.report);
    // The report is the same exec's other output.
    expect(resultOp(reportDef).digest).toBe(resultOp(marshal(s.state)).digest);
    expect(decodeOps(reportDef).at(-1)!.op.inputs![0]!.index).toBe(report.output);
    expect(at("/")!.output).not.toBe(report.output);
  });

  it("writes the requirements one per line, option lines included", () => {
    const { exec, def } = stage();
    const inMount = exec.mounts.find((m) => m.dest === "/in")!;
    const files = opByDigest(def, resultOp(def).op.inputs![inMount.input!]!.digest).op.file!.actions.map((a) => a.mkfile!);
    const req = files.find((f) => f.path === "/requirements.txt")!;
    expect(Buffer.from(req.data!).toString()).toBe("--no-index\ngreetwheel==1.0\n");
  });
});
