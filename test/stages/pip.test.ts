// pipStage(): the pip: list installed by the environment's python, in its own step and layer.
import { describe, expect, it } from "vitest";
import { marshal, State } from "../../src/llb";
import { MountType, NetMode } from "../../src/llb/pb";
import { lineRange } from "../../src/input/source";
import { readFileSync } from "node:fs";
import { globToRegExp, protectedGlobs } from "../../src/conda/prune/rules";
import { pipStage, pipSecrets, pipStepScript, wheelPlatforms } from "../../src/stages/pip";
import { decodeOps, opByDigest, resultOp } from "../llb/helpers";

const platform = { OS: "linux", Architecture: "amd64" };
const env = State.image("localhost:5000/base:1", platform, { digest: `sha256:${"a".repeat(64)}` });

function stage(pipEnv: Record<string, string> = {}, compilePyc = true) {
  const s = pipStage({
    env,
    prefix: "/opt/conda",
    requirements: ["--no-index", "greetwheel==1.0"],
    pipEnv,
    prune: { remove: ["*.a"], keep: [] },
    compilePyc,
    network: "host",
    ignoreCache: false,
    sourceRanges: [lineRange(10)],
  });
  const def = marshal(s.state);
  const exec = resultOp(def);
  return { s, def, exec: exec.op.exec!, at: (dest: string) => exec.op.exec!.mounts.find((m) => m.dest === dest) };
}

/** The files the step's /in mount is made of: path -> text. */
function inputFiles({ exec, def }: ReturnType<typeof stage>): Map<string, string> {
  const inMount = exec.mounts.find((m) => m.dest === "/in")!;
  const actions = opByDigest(def, resultOp(def).op.inputs![inMount.input!]!.digest).op.file!.actions.map((a) => a.mkfile!);
  return new Map(actions.map((f) => [f.path!, Buffer.from(f.data!).toString()]));
}

describe("pipStage", () => {
  it("runs the environment's python on the environment, as root, with the requested network", () => {
    const { exec } = stage();
    expect(exec.meta.args).toEqual(["/opt/conda/bin/python", "/in/pip_step.py", "/in/requirements.txt", "/in/prune.json", "/report/.pip.json"]);
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
    const req = inputFiles(stage()).get("/requirements.txt")!;
    expect(req).toBe("--no-index\ngreetwheel==1.0\n");
  });

  it("puts the program, src/build-step/python/pip_step.py, in the step's input (its bytes are in the cache key)", () => {
    const files = inputFiles(stage());
    const script = readFileSync(new URL("../../src/build-step/python/pip_step.py", import.meta.url), "utf8");
    expect(pipStepScript).toBe(script);
    expect(files.get("/pip_step.py")).toBe(script);
    expect([...files.keys()].sort()).toEqual(["/pip_step.py", "/prune.json", "/requirements.txt"]);
  });

  it("hands the program the rules as data: the prune globs as rules.ts's regexes, protected paths kept, and whether pip compiles", () => {
    const rules = JSON.parse(inputFiles(stage()).get("/prune.json")!);
    expect(rules).toEqual({ compile: true, remove: [["*.a", globToRegExp("*.a").source]], keep: protectedGlobs.map((g) => globToRegExp(g).source) });
    expect(JSON.parse(inputFiles(stage({}, false)).get("/prune.json")!).compile).toBe(false);
    // The program holds no rule of its own.
    expect(pipStepScript).not.toMatch(/site-packages\/\*\*|\*\.a\b|conda-meta/);
  });
});

describe("pip for a foreign platform", () => {
  it("lists the target's wheel platform tags from its glibc down to manylinux 2.17, then the legacy and plain tags", () => {
    const tags = wheelPlatforms("linux-aarch64", "2.36");
    expect(tags[0]).toBe("manylinux_2_36_aarch64");
    expect(tags).toContain("manylinux_2_17_aarch64");
    expect(tags.slice(-2)).toEqual(["manylinux2014_aarch64", "linux_aarch64"]);
    expect(tags).toHaveLength(36 - 17 + 1 + 2);
    expect(wheelPlatforms("linux-64", "2.12")[0]).toBe("manylinux_2_17_x86_64");
    expect(() => wheelPlatforms("osx-arm64", "2.28")).toThrow(/no wheel platform is known for conda subdir osx-arm64/);
  });

  it("hands foreign_pip.py the target's tags and where its image is, and returns the image at /target", () => {
    const tool = { ref: "localhost:5000/conda-frontend:test", digest: `sha256:${"c".repeat(64)}`, platform, entrypoint: ["/x"], env: [] };
    const compiler = State.image("localhost:5000/compiler:1", platform, { digest: `sha256:${"b".repeat(64)}` });
    const s = pipStage({ env, prefix: "/opt/conda", requirements: ["numpy"], pipEnv: {}, prune: { remove: [], keep: [] }, compilePyc: true, network: "host", ignoreCache: false, sourceRanges: [], foreign: { python: { tool, compiler }, pythonVersion: "3.11.2", subdir: "linux-aarch64", glibc: "2.28" } });
    const def = marshal(s.state);
    const exec = resultOp(def).op.exec!;
    expect(exec.meta!.args.slice(1, 3)).toEqual(["-S", "/in/foreign_pip.py"]);
    const inMount = exec.mounts.find((m) => m.dest === "/in")!;
    const files = opByDigest(def, resultOp(def).op.inputs![inMount.input!]!.digest).op.file!.actions.map((a) => a.mkfile!);
    expect(files.map((f) => f.path)).toEqual(["/requirements.txt", "/prune.json", "/pip_step.py", "/foreign_pip.py"]);
    const rules = JSON.parse(Buffer.from(files.find((f) => f.path === "/prune.json")!.data!).toString());
    expect(rules.foreign).toMatchObject({ root: "/target", prefix: "/opt/conda", site: "lib/python3.11/site-packages", python_version: "3.11", implementation: "cp", abi: "cp311" });
    expect(rules.foreign.platforms[0]).toBe("manylinux_2_28_aarch64");
    // The result is what the /target mount became: the terminal's input is the exec's /target output.
    const target = exec.mounts.find((m) => m.dest === "/target")!;
    const terminal = decodeOps(def).at(-1)!.op;
    expect(Number(terminal.inputs![0]!.index ?? 0)).toBe(Number(target.output));
    expect(Number(target.output)).toBeGreaterThan(0);
    expect(target.readonly ?? false).toBe(false);
  });
});

describe("locked wheels (pixi.lock's pypi packages)", () => {
  const wheel = { name: "greetwheel", version: "1.0", build: "", platform: "linux-64", manager: "pip" as const, url: "http://127.0.0.1:8765/wheels/greetwheel-1.0-py3-none-any.whl", filename: "greetwheel-1.0-py3-none-any.whl", sha256: "a".repeat(64), dependencies: {}, category: "main", optional: false };

  it("installs the lock's wheel files, downloaded and checked by BuildKit, with no index and no dependency resolution", () => {
    const s = pipStage({ env, prefix: "/opt/conda", requirements: ["ignored==1"], wheels: [wheel], pipEnv: {}, prune: { remove: [], keep: [] }, compilePyc: true, network: "host", ignoreCache: false, sourceRanges: [] });
    const def = marshal(s.state);
    const op = resultOp(def);
    const exec = op.op.exec!;
    expect(exec.meta!.env).toEqual(expect.arrayContaining(["PIP_NO_INDEX=1", "PIP_NO_DEPS=1"]));
    const mount = exec.mounts.find((m) => m.dest === "/wheels/0")!;
    expect(mount.readonly).toBe(true);
    const source = opByDigest(def, op.op.inputs![mount.input!]!.digest).op.source!;
    expect(source.identifier).toBe(wheel.url);
    expect(Object.fromEntries((source.attrs as unknown as { key: string; value: string }[]).map((a) => [a.key, a.value]))).toMatchObject({ "http.checksum": `sha256:${"a".repeat(64)}`, "http.filename": wheel.filename });
    const inMount = exec.mounts.find((m) => m.dest === "/in")!;
    const files = opByDigest(def, op.op.inputs![inMount.input!]!.digest).op.file!.actions.map((a) => a.mkfile!);
    expect(Buffer.from(files.find((f) => f.path === "/requirements.txt")!.data!).toString()).toBe("/wheels/0/greetwheel-1.0-py3-none-any.whl\n");
  });
});
