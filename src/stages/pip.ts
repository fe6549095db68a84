// The pip stage: environment.yml's `pip:` list, installed by the environment's own python (its
// pip) running on the image being built (the base has the glibc it needs), with a pip cache
// mount, in one step whose output is its own layer above the conda packages. Prune rules apply
// to what pip wrote, inside the same step, so pruned files never reach a layer.
import { readFileSync } from "node:fs";
import { FileActions, State } from "../llb";
import type { NetworkMode } from "../llb/exec";
import type { SourceRange } from "../input/source";
import { globToRegExp, protectedGlobs, type PrunePolicy } from "../conda/prune/rules";

export interface PipStageInput {
  /** Base image plus the installed conda environment. */
  env: State;
  prefix: string;
  requirements: string[];
  /** PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX build args. */
  pipEnv: Record<string, string>;
  prune: PrunePolicy;
  compilePyc: boolean;
  network: NetworkMode;
  ignoreCache: boolean;
  sourceRanges: SourceRange[];
}

/**
 * The step's program (src/build-step/python/pip_step.py): runs pip, then removes what the prune
 * rules exclude from the files pip recorded (RECORD) for the distributions it installed (not those
 * of conda packages), and reports what is left. Embedded in the bundle (scripts/bundle.mjs); read
 * from the sources under tsx and vitest. The step's input holds it, so its bytes are in the cache key.
 */
export const pipStepScript = typeof __CONDA_FRONTEND_PIP_STEP_PY__ !== "undefined" ? __CONDA_FRONTEND_PIP_STEP_PY__ : readFileSync(new URL("../build-step/python/pip_step.py", import.meta.url), "utf8");

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
  const rules = {
    compile: input.compilePyc,
    remove: input.prune.remove.map((g) => [g, regex(g)]),
    keep: [...input.prune.keep, ...protectedGlobs].map(regex),
  };
  const files = new FileActions()
    .mkfile("/requirements.txt", input.requirements.join("\n") + "\n", { timestamp: 0 })
    .mkfile("/prune.json", JSON.stringify(rules), { timestamp: 0 })
    .mkfile("/pip_step.py", pipStepScript, { timestamp: 0 });
  const inputs = State.scratch().file(files, { name: "[pip] requirements" });
  const exec = input.env.run({
      args: [`${input.prefix}/bin/python`, "/in/pip_step.py", "/in/requirements.txt", "/in/prune.json", "/report/.pip.json"],
      env: { ...input.pipEnv, PATH: `${input.prefix}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: "/root", PIP_CONFIG_FILE: pipSecrets.pipConf.path },
      cwd: "/",
      user: "0:0",
      network: input.network,
      mounts: [
        { type: "bind", dest: "/in", from: inputs, readonly: true },
        { type: "cache", dest: "/root/.cache/pip", id: "conda-frontend-pip", sharing: "locked" },
        { type: "bind", dest: "/report", from: State.scratch() },
        { type: "secret", dest: pipSecrets.pipConf.path, id: pipSecrets.pipConf.id, optional: true },
        { type: "secret", dest: pipSecrets.netrc.path, id: pipSecrets.netrc.id, optional: true },
        { type: "tmpfs", dest: "/tmp" },
      ],
      name: `[pip] install ${input.requirements.join(" ")}`,
      ignoreCache: input.ignoreCache,
      sourceRanges: input.sourceRanges,
    });
  return { state: exec.root(), report: exec.mount("/report") };
}
