// imageGraph for a platform the build machine cannot run (multi-platform without emulation): the
// committed webapp plan (amd64 build machine) asked for linux/arm64 with an arm64 lock. .pyc are
// compiled by the build machine's python of the same version when the plan has one, pip and the
// app install run on the build machine, and without such a python the user is told, or pip fails.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LockedPackage } from "../../src/input/lock";
import { marshal } from "../../src/llb";
import type { ImagePlan } from "../../src/plan/image-plan";
import { imageGraph } from "../../src/stages/image";
import { decodeOps, metadataOf } from "../llb/helpers";

const golden = JSON.parse(readFileSync(join(__dirname, "golden", "webapp-containerd.plan.json"), "utf8")) as ImagePlan;
const arm64 = { OS: "linux", Architecture: "arm64" };

/** The golden plan for linux/arm64: the same packages, as if the lock had them for linux-aarch64. */
function armPlan(over: Partial<ImagePlan> = {}, build: Partial<ImagePlan["build"]> = {}): ImagePlan {
  const packages = golden.lock!.lock.packages.map((p): LockedPackage => (p.platform === "linux-64" ? { ...p, platform: "linux-aarch64", url: p.url.replace("/linux-64/", "/linux-aarch64/") } : p));
  return {
    ...golden,
    build: { ...golden.build, platforms: [arm64], ...build },
    lock: { ...golden.lock!, lock: { ...golden.lock!.lock, platforms: ["linux-aarch64"], packages } },
    platforms: [{ ...golden.platforms[0]!, platform: arm64 }],
    ...over,
  };
}

const python = golden.lock!.lock.packages.find((p) => p.name === "python")!;
const compilerPackages = golden.lock!.lock.packages.filter((p) => ["python", "zlib", "libffi"].includes(p.name));
const withCompiler = () => armPlan({ pycCompilers: [{ version: python.version, subdir: "linux-64", packages: compilerPackages }] });

/** The digest of the op whose output an exec mounts at `dest`. */
function mounted(o: { op: ReturnType<typeof decodeOps>[number]["op"] }, dest: string): string {
  const m = o.op.exec!.mounts.find((x) => x.dest === dest)!;
  return o.op.inputs![Number(m.input ?? 0)]!.digest;
}

function execs(plan: ImagePlan, platform = plan.platforms[0]!) {
  const graph = imageGraph(plan, platform);
  const def = marshal(graph.image);
  const ops = decodeOps(def).map((o) => ({ ...o, name: metadataOf(def, o.digest)?.description?.find((d) => d.key === "llb.customname")?.value ?? "" }));
  return { graph, ops, named: (prefix: string) => ops.filter((o) => o.op.exec && o.name.startsWith(prefix)) };
}

describe("imageGraph for a foreign platform", () => {
  it("compiles .pyc with the build machine's python when the plan has one of the same version (no notice)", () => {
    const { graph, named } = execs(withCompiler());
    expect(graph.environment!.compilePyc).toBe(true);
    expect(graph.environment!.notices).toEqual([]);
    const pythons = named("[install] python ");
    const target = pythons.find((o) => JSON.stringify(o.op.exec!.meta!.env).includes("/linux-aarch64/python-"))!;
    expect(target.op.exec!.mounts.map((m) => m.dest)).toContain("/pyenv");
    expect(target.op.exec!.meta!.env!.join("\n")).toContain('"compilePycWith":"/pyenv"');
    // The compiler itself: installed for linux-64 (its URLs), not compiled, not pruned.
    expect(named("[install] ").some((o) => JSON.stringify(o.op.exec!.meta!.env).includes("/linux-64/python-"))).toBe(true);
  });

  it("tells the user .pyc are not compiled when the channel had no python of that version for the build machine", () => {
    const { graph, named } = execs(armPlan({}, { conda: { ...golden.build.conda, pip: [] } }));
    expect(graph.environment!.compilePyc).toBe(false);
    expect(graph.environment!.notices.join("\n")).toMatch(/\.pyc files are not compiled for linux\/arm64: the channel has no python 3\.12\.1 for this linux\/amd64 build machine/);
    expect(named("[install] python ")).toHaveLength(1);
    expect(named("[install] python ")[0]!.op.exec!.mounts.map((m) => m.dest)).not.toContain("/pyenv");
  });

  it("runs pip on the build machine: our image as root, the compiler at the prefix, the image at /target, with the target's wheel tags", () => {
    const plan = withCompiler();
    const { named } = execs(plan);
    const pip = named("[pip] ")[0]!;
    const exec = pip.op.exec!;
    expect(exec.meta!.args.slice(0, 3)).toEqual(["/opt/conda/bin/python", "-S", "/in/foreign_pip.py"]);
    expect(exec.meta!.env).toContain("PYTHONPATH=/target/opt/conda/lib/python3.12/site-packages");
    expect(exec.mounts.map((m) => m.dest)).toEqual(expect.arrayContaining(["/opt/conda", "/target", "/in"]));
    expect(exec.mounts.find((m) => m.dest === "/opt/conda")!.readonly).toBe(true);
  });

  it("fails pip with the line of the pip: list when there is no build-machine python of the target's version", () => {
    expect(() => imageGraph(armPlan(), armPlan().platforms[0]!)).toThrow(/pip for linux\/arm64: the channel has no python 3\.12\.1 for this linux\/amd64 build machine/);
  });

  it("installs the app on the build machine with foreign_pip.py --app when app.install is pip", () => {
    const range = { start: { line: 3, character: 0 }, end: { line: 3, character: 10 } };
    const plan = { ...withCompiler(), build: { ...withCompiler().build, appInstall: { range } } };
    const app = execs(plan).named("[app] pip install")[0]!;
    expect(app.op.exec!.meta!.args).toEqual(["/opt/conda/bin/python", "-S", "/in/foreign_pip.py", "--app", "/tmp/app", "/in/rules.json"]);
    expect(app.name).toMatch(/for linux-aarch64, by the build machine's python/);
  });
});

describe("image.post-link: run for a foreign platform", () => {
  it("is an error at post-link: the scripts would run in an image the build machine cannot run", () => {
    const range = { start: { line: 9, character: 2 }, end: { line: 9, character: 17 } };
    const plan = withCompiler();
    const withPostLink: ImagePlan = { ...plan, build: { ...plan.build, conda: { ...plan.build.conda, postLink: { value: "run", range } } }, platforms: [{ ...plan.platforms[0]!, postLink: ["greet"] }] };
    expect(() => imageGraph(withPostLink, withPostLink.platforms[0]!)).toThrow(/image\.post-link: run: the post-link scripts of greet would run in the linux\/arm64 image, which this linux\/amd64 build machine cannot run without emulation/);
  });
});

describe("compile-pyc: false on a foreign platform", () => {
  it("still runs pip by the build machine's python, and mounts it in no install step", () => {
    const plan = withCompiler();
    const off: ImagePlan = { ...plan, build: { ...plan.build, conda: { ...plan.build.conda, compilePyc: false } } };
    const { graph, named } = execs(off);
    expect(graph.environment!.compilePyc).toBe(false);
    expect(graph.environment!.notices).toEqual([]);
    for (const step of named("[install] ")) expect(step.op.exec!.mounts.map((m) => m.dest)).not.toContain("/pyenv");
    expect(named("[pip] ")[0]!.op.exec!.meta!.args[2]).toBe("/in/foreign_pip.py");
  });
});

/** The golden plan for linux/amd64 and linux/arm64, the compiler from the amd64 lock. */
function twoPlatformPlan(): ImagePlan {
  const arm = armPlan();
  const linux64 = golden.lock!.lock.packages;
  const closure = linux64.filter((p) => ["python", "bzip2", "libffi", "libsqlite", "libuuid", "libxcrypt", "ncurses", "openssl", "readline", "xz", "zlib"].includes(p.name));
  return {
    ...arm,
    build: { ...arm.build, platforms: [golden.platforms[0]!.platform, arm64] },
    lock: { ...arm.lock!, lock: { ...arm.lock!.lock, platforms: ["linux-64", "linux-aarch64"], packages: [...linux64, ...arm.lock!.lock.packages] } },
    platforms: [golden.platforms[0]!, arm.platforms[0]!],
    pycCompilers: [{ version: python.version, subdir: "linux-64", packages: closure }],
  };
}

describe("the build machine's python in a two-platform build", () => {
  it("is installed by the very steps of the amd64 image (same digests: BuildKit runs them once)", () => {
    const plan = twoPlatformPlan();
    const closure = plan.pycCompilers![0]!.packages;
    const amd = execs({ ...plan, platforms: [plan.platforms[0]!] }).named("[install] ");
    const armSteps = execs({ ...plan, platforms: [plan.platforms[1]!] }).named("[install] ");
    const compilerSteps = armSteps.filter((o) => JSON.stringify(o.op.exec!.meta!.env).includes("/linux-64/") && !JSON.stringify(o.op.exec!.meta!.env).includes("/noarch/"));
    expect(compilerSteps.length).toBe(closure.length);
    const amdDigests = new Set(amd.map((o) => o.digest));
    for (const step of compilerSteps) expect(amdDigests.has(step.digest), step.name).toBe(true);
    // The noarch packages (pip, setuptools, wheel) too: the same files for both platforms.
    const noarch = armSteps.filter((o) => JSON.stringify(o.op.exec!.meta!.env).includes("/noarch/"));
    expect(noarch.map((o) => o.name).sort()).toEqual(["[install] pip 25.1.1-pyhd8ed1ab_0", "[install] setuptools 78.1.1-pyhd8ed1ab_0", "[install] wheel 0.46.1-pyhd8ed1ab_0"]);
    for (const step of noarch) expect(amdDigests.has(step.digest), step.name).toBe(true);
    // Only the arm64 packages that are not noarch have steps of their own.
    const own = armSteps.filter((o) => !amdDigests.has(o.digest));
    expect(own.every((o) => JSON.stringify(o.op.exec!.meta!.env).includes("/linux-aarch64/"))).toBe(true);
    // They compile with linux-64's python step alone, as amd64's steps do: they start when that
    // step is done, beside amd64's, not after every package python depends on.
    const amdPython = amd.find((o) => o.name.startsWith("[install] python "))!;
    expect(own.length).toBeGreaterThan(5);
    for (const step of own) {
      const pyenv = step.op.exec!.mounts.find((m) => m.dest === "/pyenv")!;
      expect(step.op.inputs![pyenv.input!]!.digest, step.name).toBe(amdPython.digest);
      expect(step.op.inputs![pyenv.input!]!.index ?? 0, step.name).toBe(amdPython.op.exec!.mounts.find((m) => m.dest === "/out")!.output ?? 0);
    }
  });

  it("runs the foreign pip step in the amd64 image's environment (-S), with no stack or mount of a compiler of its own", () => {
    const plan = twoPlatformPlan();
    const amd = execs({ ...plan, platforms: [plan.platforms[0]!] });
    const arm = execs(plan, plan.platforms[1]!);
    const amdPip = amd.named("[pip] ")[0]!;
    const armPip = arm.named("[pip] ")[0]!;
    expect(armPip.op.exec!.meta!.args.slice(0, 3)).toEqual(["/opt/conda/bin/python", "-S", "/in/foreign_pip.py"]);
    expect(mounted(armPip, "/")).toBe(mounted(amdPip, "/"));
    expect(armPip.op.exec!.mounts.map((m) => m.dest)).not.toContain("/opt/conda");
    expect(arm.ops.some((o) => o.name.startsWith("[pyc] "))).toBe(false);
    // The arm64 image it writes into is not hashed by BuildKit before the step starts.
    expect(armPip.op.exec!.mounts.find((m) => m.dest === "/target")!.contentCache).toBe(2);
  });

  it("is a bare install (no .pyc of its own) when only the foreign platform is built", () => {
    const steps = execs(withCompiler()).named("[install] ").filter((o) => JSON.stringify(o.op.exec!.meta!.env).includes("/linux-64/"));
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(JSON.stringify(step.op.exec!.meta!.env)).not.toContain("compilePycWith");
  });
});

describe("app.install: pip with layers stacked by merge ops", () => {
  const range = { start: { line: 3, character: 0 }, end: { line: 3, character: 10 } };
  const plan: ImagePlan = { ...golden, build: { ...golden.build, appInstall: { range } } };

  it("installs into the environment as it is, reading the app from its own layer, and stacks the app layer last", () => {
    const { graph, ops, named } = execs(plan);
    const install = named("[app] pip install")[0]!;
    const pip = named("[pip] ")[0]!;
    // The step's root is what the pip step made: a snapshot BuildKit has, not a stack to materialize.
    expect(mounted(install, "/")).toBe(pip.digest);
    const copy = ops.find((o) => o.digest === mounted(install, "/tmp/app"))!;
    expect(copy.name).toMatch(/^\[app\] copy /);
    expect(install.op.exec!.mounts.find((m) => m.dest === "/tmp/app")!.selector).toBe(plan.build.workdir);
    // The image: one merge of the installed environment and the app layer, in that order.
    const top = ops.find((o) => o.name === "[image linux/amd64] stack layers")!;
    expect(ops.at(-1)!.op.inputs![0]!.digest).toBe(top.digest);
    expect(top.op.merge!.inputs).toHaveLength(2);
    const merged = top.op.merge!.inputs.map((i) => top.op.inputs![Number(i.input ?? 0)]!.digest);
    expect(merged).toEqual([install.digest, copy.digest]);
    // The history says so, bottom to top.
    expect(graph.history.slice(-2)).toEqual([`conda-frontend: pip install --no-deps ${plan.build.workdir}`, expect.stringMatching(/^conda-frontend: copy .* to \/app$/)]);
  });

  it("installs into the stacked image when layers are stacked by copies (the app layer written onto it)", () => {
    const copies: ImagePlan = { ...plan, daemon: { ...plan.daemon, stack: "copy" } };
    const { graph, ops, named } = execs(copies);
    const install = named("[app] pip install")[0]!;
    expect(ops.find((o) => o.digest === mounted(install, "/"))!.name).toMatch(/^\[app\] copy /);
    expect(graph.history.at(-1)).toBe(`conda-frontend: pip install --no-deps ${plan.build.workdir}`);
  });
});
