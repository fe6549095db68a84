// The pip stage: environment.yml's `pip:` list, installed by the environment's own python (its
// pip) running on the image being built (the base has the glibc it needs), with a pip cache
// mount, in one step whose output is its own layer above the conda packages. Prune rules apply
// to what pip wrote, inside the same step, so pruned files never reach a layer.
import { readFileSync } from "node:fs";
import { FileActions, State, type StateMount } from "../llb";
import type { NetworkMode } from "../llb/exec";
import type { SourceRange } from "../input/source";
import { globToRegExp, protectedGlobs, type PrunePolicy } from "../conda/prune/rules";
import type { ToolImage } from "../plan/image-plan";
import type { LockedPackage } from "../input/lock";
import { toolState } from "./solve";

export interface PipStageInput {
  /** Base image plus the installed conda environment. */
  env: State;
  prefix: string;
  requirements: string[];
  /**
   * Wheels a lock pins (pixi.lock's pypi packages, conda-lock's pip ones): BuildKit downloads and
   * verifies each (an HTTP source with its sha256), pip installs those files as they are, without
   * an index or dependencies (the lock has them all). Used instead of `requirements`.
   */
  wheels?: LockedPackage[];
  /** PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX build args. */
  pipEnv: Record<string, string>;
  prune: PrunePolicy;
  compilePyc: boolean;
  network: NetworkMode;
  ignoreCache: boolean;
  sourceRanges: SourceRange[];
  /** A foreign platform: pip runs on the build machine, by a python of the target's version. */
  foreign?: ForeignPip;
}

/** How pip runs for a platform the build machine cannot run (pip_step.py's "foreign" rules). */
export interface ForeignPip {
  /** Where the build machine's python of the target's version runs. */
  python: ForeignPython;
  /** The target python's version, e.g. 3.11.2. */
  pythonVersion: string;
  /** The target's conda subdir, e.g. linux-aarch64. */
  subdir: string;
  /** The target's glibc: its manylinux tags go up to this version. */
  glibc: string;
}

/**
 * The build machine's python of the target's version at the prefix, with a C library: the build
 * machine's own image of this build (base and environment), when it is built too with that python;
 * else our image (the build machine's platform) with that python's environment (pyc-compiler.ts)
 * mounted at the prefix. The first needs nothing BuildKit does not make anyway for that image
 * (the other is a stack of the compiler's layers, and a mount at a path of it, whose content
 * BuildKit hashes for the cache key).
 */
export type ForeignPython = { image: State } | { tool: ToolImage; compiler: State };

/**
 * The root and mounts of a step that runs the build machine's python at the prefix. It runs with
 * -S (the build machine's own site-packages left out): what pip sees installed is the target's.
 */
export function foreignPythonExec(python: ForeignPython, prefix: string): { root: State; mounts: StateMount[] } {
  if ("image" in python) return { root: python.image, mounts: [] };
  return { root: toolState(python.tool), mounts: [{ type: "bind", dest: prefix, from: python.compiler, selector: prefix, readonly: true, contentCache: "off" }] };
}

/** Where the target's image is mounted in a foreign pip step. */
export const foreignRoot = "/target";

const machineOf: Record<string, string> = { "linux-64": "x86_64", "linux-aarch64": "aarch64", "linux-ppc64le": "ppc64le", "linux-s390x": "s390x", "linux-armv7l": "armv7l" };

/**
 * The wheel platform tags a target takes, newest first: manylinux_2_<glibc> down to 2_17, the
 * legacy manylinux2014 alias of 2_17, and plain linux_<machine>. pip does not widen a PEP 600
 * tag given with --platform, so each is listed.
 */
export function wheelPlatforms(subdir: string, glibc: string): string[] {
  const machine = machineOf[subdir];
  if (!machine) throw new Error(`no wheel platform is known for conda subdir ${subdir}`);
  const minor = Math.max(17, Number(/^2\.(\d+)/.exec(glibc)?.[1] ?? "17"));
  const tags: string[] = [];
  for (let m = minor; m >= 17; m--) tags.push(`manylinux_2_${m}_${machine}`);
  return [...tags, `manylinux2014_${machine}`, `linux_${machine}`];
}

/** foreign_pip.py's "foreign" rules (the keys its header documents). */
export interface ForeignRules {
  root: string;
  prefix: string;
  /** site-packages, relative to the prefix. */
  site: string;
  platforms: string[];
  python_version: string;
  implementation: string;
  abi: string;
}

/** foreign_pip.py's "foreign" rules for a platform. */
export function foreignRules(prefix: string, foreign: ForeignPip): ForeignRules {
  const [major, minor] = foreign.pythonVersion.split(".");
  return {
    root: foreignRoot,
    prefix,
    site: `lib/python${major}.${minor}/site-packages`,
    platforms: wheelPlatforms(foreign.subdir, foreign.glibc),
    python_version: `${major}.${minor}`,
    implementation: "cp",
    abi: `cp${major}${minor}`,
  };
}

/**
 * The step's program (src/build-step/python/pip_step.py): runs pip, then removes what the prune
 * rules exclude from the files pip recorded (RECORD) for the distributions it installed (not those
 * of conda packages), and reports what is left. Embedded in the bundle (scripts/bundle.mjs); read
 * from the sources under tsx and vitest. The step's input holds it, so its bytes are in the cache key.
 */
export const pipStepScript = typeof __CONDA_FRONTEND_PIP_STEP_PY__ !== "undefined" ? __CONDA_FRONTEND_PIP_STEP_PY__ : readFileSync(new URL("../build-step/python/pip_step.py", import.meta.url), "utf8");

/** Where the i-th locked wheel is mounted in the pip step. */
const wheelDir = (i: number) => `/wheels/${i}`;

/** A locked wheel as BuildKit downloads it: checked against the lock's sha256. */
function lockedWheel(w: LockedPackage): State {
  return State.http(w.url, { checksum: w.sha256 ? `sha256:${w.sha256}` : undefined, filename: w.filename, name: `[download] ${w.name} ${w.version} from ${w.url}` });
}

/** A foreign platform's pip program (src/build-step/python/foreign_pip.py): it imports pip_step.py from beside it. */
export const foreignPipScript = typeof __CONDA_FRONTEND_FOREIGN_PIP_PY__ !== "undefined" ? __CONDA_FRONTEND_FOREIGN_PIP_PY__ : readFileSync(new URL("../build-step/python/foreign_pip.py", import.meta.url), "utf8");

/**
 * Credentials for package indexes reach pip only as BuildKit secrets (never the LLB, a layer or the
 * cache key): `pip-conf`, a pip.conf that may name URLs with tokens, and `netrc`, a .netrc with
 * logins by host. Both optional: without them the mounts are absent and pip runs without.
 */
export const pipSecrets = { pipConf: { id: "pip-conf", path: "/run/secrets/pip.conf" }, netrc: { id: "netrc", path: "/root/.netrc" } } as const;

export interface PipStage {
  /** The environment with pip's packages. */
  state: State;
  /** The step's size report, `/.pip.json` (report.ts). */
  report: State;
}

export function pipStage(input: PipStageInput): PipStage {
  const regex = (g: string) => globToRegExp(g).source;
  const wheels = input.wheels ?? [];
  const requirements = wheels.length ? wheels.map((w, i) => `${wheelDir(i)}/${w.filename}`) : input.requirements;
  const pipEnv = wheels.length ? { ...input.pipEnv, PIP_NO_INDEX: "1", PIP_NO_DEPS: "1" } : input.pipEnv;
  const rules = {
    compile: input.compilePyc,
    remove: input.prune.remove.map((g) => [g, regex(g)]),
    keep: [...input.prune.keep, ...protectedGlobs].map(regex),
    ...(input.foreign ? { foreign: foreignRules(input.prefix, input.foreign) } : {}),
  };
  let files = new FileActions()
    .mkfile("/requirements.txt", requirements.join("\n") + "\n", { timestamp: 0 })
    .mkfile("/prune.json", JSON.stringify(rules), { timestamp: 0 })
    .mkfile("/pip_step.py", pipStepScript, { timestamp: 0 });
  if (input.foreign) files = files.mkfile("/foreign_pip.py", foreignPipScript, { timestamp: 0 });
  const inputs = State.scratch().file(files, { name: "[pip] requirements" });
  const { foreign } = input;
  // Foreign: the build machine's python sits at the prefix (so scripts' #! lines name the prefix's
  // python), pip itself is imported from the target's site-packages.
  const runner = foreign ? foreignPythonExec(foreign.python, input.prefix) : { root: input.env, mounts: [] };
  const site = foreign ? `${foreignRoot}${input.prefix}/${foreignRules(input.prefix, foreign).site}` : undefined;
  const exec = runner.root.run({
      args: [`${input.prefix}/bin/python`, ...(foreign ? ["-S", "/in/foreign_pip.py"] : ["/in/pip_step.py"]), "/in/requirements.txt", "/in/prune.json", "/report/.pip.json"],
      env: { ...pipEnv, PATH: `${input.prefix}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: "/root", PIP_CONFIG_FILE: pipSecrets.pipConf.path, ...(site ? { PYTHONPATH: site } : {}) },
      cwd: "/",
      user: "0:0",
      network: input.network,
      mounts: [
        ...runner.mounts,
        // The image written into: mounted whole, so BuildKit would hash all of it before the step starts.
        ...(foreign ? [{ type: "bind" as const, dest: foreignRoot, from: input.env, contentCache: "off" as const }] : []),
        { type: "bind", dest: "/in", from: inputs, readonly: true },
        ...wheels.map((w, i) => ({ type: "bind" as const, dest: wheelDir(i), from: lockedWheel(w), readonly: true })),
        // Locked: two pips in one cache at once can corrupt a wheel built into it from a tmpfs
        // (pypa/pip#13540). A foreign platform's pip has a cache of its own, so that two
        // platforms' pip steps run side by side instead of one waiting for the other's lock.
        { type: "cache", dest: "/root/.cache/pip", id: foreign ? `conda-frontend-pip-${foreign.subdir}` : "conda-frontend-pip", sharing: "locked" },
        { type: "bind", dest: "/report", from: State.scratch() },
        { type: "secret", dest: pipSecrets.pipConf.path, id: pipSecrets.pipConf.id, optional: true },
        { type: "secret", dest: pipSecrets.netrc.path, id: pipSecrets.netrc.id, optional: true },
        { type: "tmpfs", dest: "/tmp" },
      ],
      name: wheels.length ? `[pip] install ${wheels.map((w) => `${w.name} ${w.version}`).join(", ")} (locked wheels)` : `[pip] install ${input.requirements.join(" ")}`,
      ignoreCache: input.ignoreCache,
      sourceRanges: input.sourceRanges,
    });
  return { state: foreign ? exec.mount(foreignRoot) : exec.root(), report: exec.mount("/report") };
}
