// The pip stage: environment.yml's `pip:` list, installed by the environment's own python (its
// pip) running on the image being built (the base has the glibc it needs), with a pip cache
// mount, in one step whose output is its own layer above the conda packages. Prune rules apply
// to what pip wrote, inside the same step, so pruned files never reach a layer.
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

// Runs pip, then removes what the prune rules exclude from the files pip recorded (RECORD) for
// the distributions it installed (not those of conda packages), and reports what is left.
const runner = `import json, os, re, subprocess, sys
rules = json.load(open("/in/prune.json"))
site = [p for p in sys.path if p.endswith("site-packages")]
def dist_infos():
    return {os.path.join(sp, e) for sp in site if os.path.isdir(sp) for e in os.listdir(sp) if e.endswith(".dist-info")}
def recorded(dist_info):
    record = os.path.join(dist_info, "RECORD")
    if not os.path.isfile(record):
        return []
    base = os.path.dirname(dist_info)
    return [os.path.normpath(os.path.join(base, line.rsplit(",", 2)[0])) for line in open(record, encoding="utf-8") if line.strip()]
before = dist_infos()
args = [sys.executable, "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--root-user-action=ignore", "-r", "/in/requirements.txt"]
if not rules["compile"]:
    args.insert(4, "--no-compile")
if subprocess.run(args).returncode:
    sys.exit(1)
paths = [p for d in sorted(dist_infos() - before) for p in recorded(d)]
remove = [(g, re.compile(r)) for g, r in rules["remove"]]
keep = [re.compile(r) for r in rules["keep"]]
pruned = {}
written = {"files": 0, "bytes": 0}
for path in paths:
    rel = os.path.relpath(path, sys.prefix)
    hit = next((g for g, r in remove if r.match(rel)), None)
    if hit and not any(k.match(rel) for k in keep) and os.path.isfile(path):
        n, b = pruned.get(hit, (0, 0))
        pruned[hit] = (n + 1, b + os.path.getsize(path))
        os.remove(path)
    elif os.path.lexists(path) and not os.path.isdir(path):
        written["files"] += 1
        written["bytes"] += os.lstat(path).st_size if os.path.isfile(path) and not os.path.islink(path) else 0
report = {"kind": "pip", "name": "pip", "written": written, "pruned": {g: {"files": n, "bytes": b} for g, (n, b) in sorted(pruned.items())}}
json.dump(report, open("/report/.pip.json", "w"))
if pruned:
    print("pruned from pip's files: " + ", ".join("%s %d KiB" % (g, b // 1024) for g, (n, b) in sorted(pruned.items())))
`;

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
    .mkfile("/run.py", runner, { timestamp: 0 });
  const inputs = State.scratch().file(files, { name: "[pip] requirements" });
  const exec = input.env.run({
      args: [`${input.prefix}/bin/python`, "/in/run.py"],
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
