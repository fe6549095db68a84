// The Python programs of src/build-step/python, tested in Python (test_*.py beside this file, with
// unittest) by `python3` and, when pyenv is here (the fixture channel already uses pyenv's CPython
// 3.12), by the oldest and the newest CPython 3 it has: the programs run with whatever python the
// user's environment has. PYTHON_TESTS=all runs them with every version found (~20 s on 2 CPUs). pip_step.py also gets the
// prune rules as pip.ts writes them, with rules.ts's decision for each path: the program must
// decide the same.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { marshal, State } from "../../../src/llb";
import { presets, pruner, type PrunePolicy } from "../../../src/conda/prune/rules";
import { pipStage } from "../../../src/stages/pip";
import { opByDigest, resultOp } from "../../llb/helpers";

const here = __dirname;

/** The CPython 3 version of `exe` ("3.12.1"), or undefined when it is not one. */
function cpython3(exe: string): string | undefined {
  const r = spawnSync(exe, ["-c", "import platform, sys; print(platform.python_implementation(), '%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8" });
  const [impl, version] = r.status === 0 ? r.stdout.trim().split(" ") : [];
  return impl === "CPython" && version?.startsWith("3.") ? version : undefined;
}

/** python3, then pyenv's oldest and newest CPython 3 (or all): [label, executable], one per version. */
function pythons(): [string, string][] {
  const found = new Map<string, string>();
  const own = cpython3("python3");
  if (own) found.set(own, "python3");
  const root = spawnSync("pyenv", ["root"], { encoding: "utf8" });
  const versions = root.status === 0 ? join(root.stdout.trim(), "versions") : undefined;
  const pyenv: [number[], string, string][] = [];
  for (const v of versions && existsSync(versions) ? readdirSync(versions) : []) {
    const exe = join(versions!, v, "bin", "python3");
    const version = existsSync(exe) ? cpython3(exe) : undefined;
    if (version) pyenv.push([version.split(".").map(Number), version, exe]);
  }
  pyenv.sort(([a], [b]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!);
  const chosen = process.env.PYTHON_TESTS === "all" ? pyenv : [pyenv[0], pyenv.at(-1)].filter((p) => p !== undefined);
  for (const [, version, exe] of chosen) if (!found.has(version)) found.set(version, exe);
  return [...found].map(([version, exe]) => [`CPython ${version}`, exe]);
}

/** What pip.ts writes into the step's prune.json for `policy`. */
function pruneJson(policy: PrunePolicy): unknown {
  const env = State.image("localhost:5000/base:1", { OS: "linux", Architecture: "amd64" }, { digest: `sha256:${"a".repeat(64)}` });
  const s = pipStage({ env, prefix: "/opt/conda", requirements: ["x"], pipEnv: {}, prune: policy, compilePyc: true, network: "sandbox", ignoreCache: false, sourceRanges: [] });
  const def = marshal(s.state);
  const exec = resultOp(def).op;
  const inMount = exec.exec!.mounts.find((m) => m.dest === "/in")!;
  const file = opByDigest(def, exec.inputs![inMount.input!]!.digest).op.file!.actions.map((a) => a.mkfile!).find((f) => f.path === "/prune.json")!;
  return JSON.parse(Buffer.from(file.data!).toString());
}

const work = mkdtempSync(join(tmpdir(), "python-tests-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** rules.ts's decisions, for test_pip_step.RulesAgreeWithTypeScriptTest. */
function pruneCases(): string {
  const policy = { remove: [...presets.aggressive, "share/x[!y]z/*.dat", "**/{docs,examples}/**", "bin/tool?"], keep: ["lib/python*/site-packages/pip/_vendor/**", "*.keep.a"] };
  const decide = pruner(policy);
  const paths = [
    "lib/libx.a", "lib/x.keep.a", "include/x.h", "lib/libasan.so.8", "lib/libpython3.12.so.1.0", "lib/libpython3.12.so",
    "lib/python3.12/site-packages/numpy/core/tests/test_x.py", "lib/python3.12/site-packages/numpy/core/x.py",
    "lib/python3.12/site-packages/pip/__init__.py", "lib/python3.12/site-packages/pip/_vendor/rich/x.py",
    "lib/python3.12/__pycache__/os.cpython-312.pyc", "lib/python3.12/site-packages/m/__pycache__/a.cpython-312.pyc",
    "lib/python3.12/site-packages/m/x.c", "lib/python3.12/site-packages/m/x.pyx", "lib/python3.12/m/x.c",
    "share/xaz/a.dat", "share/xyz/a.dat", "share/xaz/sub/a.dat", "pkg/docs/index.html", "docs/x", "bin/tool1", "bin/tool12", "bin/pip", "bin/pip3.12",
    "ssl/cacert.pem.a", "conda-meta/x.a", "etc/conda/activate.d/x.a", "share/zoneinfo/UTC.a",
    "lib/x.a\n", "lib/\u00e9\u65e5.a", "lib/x.a/inside", "a.a", ".a", "lib/.a", "lib/x.js.map", "share/man/man1/x.1", "share/mandir/x",
  ];
  const file = join(work, "prune-cases.json");
  writeFileSync(file, JSON.stringify({ rules: pruneJson(policy), cases: paths.map((p) => [p, decide.removedBy(p) ?? null]) }));
  return file;
}

function unittest(exe: string, env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, ["-m", "unittest", "discover", "-s", here, "-t", here, "-p", "test_*.py", "-v"], { cwd: here, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

describe("the Python programs, tested in Python", () => {
  const found = pythons();
  const cases = pruneCases();

  it("has python3 to run them", () => {
    expect(found.length, "no CPython 3 found as python3").toBeGreaterThan(0);
  });

  it.concurrent.each(found)("pass their unittest suite with %s", async (_, exe) => {
    const { status, output } = await unittest(exe, { CONDA_FRONTEND_PRUNE_CASES: cases });
    expect(status, output).toBe(0);
    // The cross-check with rules.ts ran (it is skipped without the cases).
    expect(output).toMatch(/test_decides_as_rules_ts_does .*\.\.\. ok/);
  }, 120_000);
});
