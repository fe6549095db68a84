// The frontend's side of installing, in two phases around the image's own solve:
//  1. environmentGraph: the install stage, the pip step and (when asked) post-link scripts, as
//     LLB. Nothing in it depends on what the steps report, so the whole image is solved in one
//     Solve; the report folders ride along as inputs the app layer carries (stages/app.ts).
//  2. readEnvironment: the steps' reports, read from that solved graph: what activation would
//     have set (env_vars.d), what cannot be done without a shell (activate.d scripts), post-link
//     scripts that were not run, and the size summary.
// Why the order: BuildKit v0.13 and v0.25 hand a vertex that an earlier Solve of the build
// completed to later Solves without its cache keys, so steps above it cannot match an imported
// cache (--cache-from) and run again. Solving the image first keeps every step of it in one
// Solve. The installed environment itself is never opened here: on the containerd store that
// would make BuildKit materialise the merge of every package layer, which export does not need.
import { mark } from "../timing";
import { formatSummary, isStepReport, type StepReport } from "../conda/prune/report";
import { removesPyc } from "../conda/prune/rules";
import { isVirtualPackageName, subdirOf } from "../conda/virtual-packages";
import type { Bridge } from "../gateway/bridge";
import { getEnv } from "../image/config";
import { copyTogether, marshal, merge, State } from "../llb";
import type { PbPlatform, PbSourceInfo } from "../llb/pb";
import { formatPlatform } from "../llb/platform";
import { SpecError } from "../input/errors";
import type { Lock, LockedPackage } from "../input/lock";
import { installStage } from "../stages/install";
import { pipStage } from "../stages/pip";
import type { BuildPlan } from "../plan/plan";
import type { ToolImage } from "../stages/solve";

const utf8 = (b: Uint8Array) => Buffer.from(b).toString("utf8");

export interface EnvironmentGraph {
  /** Base image plus the environment's layers (and pip's, and what post-link scripts wrote). */
  state: State;
  /** What each layer above the base holds, bottom to top, for the image's history. */
  history: string[];
  /** The install steps' reports in one folder, and the pip step's; for the image to carry. */
  reportFolders: State[];
  /** Package names in the order their layers stack. */
  order: string[];
  packages: LockedPackage[];
  compilePyc: boolean;
  warnings: string[];
  /** Reports already read (image.post-link: run needs them to build the graph). */
  earlyReports?: StepReport[];
  postLinkRan: string[];
}

export interface InstalledEnvironment {
  /** Variables for the image config, in order (later wins). */
  env: [string, string][];
  warnings: string[];
}

/**
 * image.post-link: run. Each script runs as root in the image being built (base + environment),
 * in dependency order, with conda's variables; it needs the base's /bin/sh and runs code from the
 * package - the reason it is off by default. `probe` is the base as a vertex of its own, solved
 * here only to look for /bin/sh.
 */
async function runPostLinkScripts(bridge: Bridge, plan: BuildPlan, probe: State, state: State, names: string[], packages: LockedPackage[], sourceInfo: PbSourceInfo): Promise<State> {
  const ref = await bridge.solve(marshal(probe, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo }), { evaluate: true });
  // /bin/sh, or /usr/bin/sh where /bin is a link to it (StatFile does not follow links).
  const found = await Promise.all(["/bin/sh", "/usr/bin/sh"].map((p) => bridge.client.statFile(ref, p).then(() => true, () => false)));
  if (!found.includes(true)) {
    throw new SpecError({ name: sourceInfo.filename, text: utf8(sourceInfo.data) }, [
      { message: `image.post-link: run needs /bin/sh in the base image to run post-link scripts (of ${names.join(", ")}), and ${plan.base.ref} has none; use a base with a shell, or leave post-link scripts off`, range: plan.conda.postLink.range },
    ]);
  }
  let s = state;
  for (const name of names) {
    const p = packages.find((x) => x.name === name)!;
    s = s
      .run({
        args: ["/bin/sh", `${plan.prefix}/bin/.${name}-post-link.sh`],
        env: { PREFIX: plan.prefix, PKG_NAME: p.name, PKG_VERSION: p.version, PKG_BUILDNUM: /_(\d+)$/.exec(p.build)?.[1] ?? "0", PATH: `${plan.prefix}/bin:/usr/local/bin:/usr/bin:/bin` },
        cwd: plan.prefix,
        user: "0:0",
        network: "none",
        name: `[post-link] ${name} ${p.version}`,
        ignoreCache: plan.ignoreCache,
        sourceRanges: plan.conda.postLink.range ? [plan.conda.postLink.range] : undefined,
      })
      .root();
  }
  return s;
}

/**
 * The steps' reports (report.ts) from a report folder: one small entry per step, copied into
 * one folder by a single file op (a merge op would be materialised just to be read). Most are
 * symlinks whose target is the report, all read by the one ReadDir; a long one is a file.
 */
async function readReports(bridge: Bridge, folder: State, plan: BuildPlan, sourceInfo: PbSourceInfo): Promise<StepReport[]> {
  const ref = await bridge.solve(marshal(folder, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo }), { evaluate: true });
  const entries = (await bridge.client.readDir(ref, "/")).filter((s) => s.path);
  const texts = await Promise.all(entries.map((s) => (s.linkname ? s.linkname : bridge.readFile(ref, `/${s.path}`).then(utf8))));
  return texts.map((t) => JSON.parse(t) as unknown).filter(isStepReport);
}

/**
 * What activation would set: env_vars.d files in file-name order (where two packages ship the
 * same file, the later layer's wins), each a JSON object of variables.
 */
function activationVariables(reports: StepReport[], varsDir: string, warnings: string[]): [string, string][] {
  const files = new Map<string, string>();
  for (const r of reports) for (const [name, text] of Object.entries(r.envVarFiles ?? {})) files.set(name, text);
  const env: [string, string][] = [];
  for (const name of [...files.keys()].sort()) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(files.get(name)!) as Record<string, unknown>)) env.push([k, String(v)]);
    } catch (e) {
      warnings.push(`${varsDir}/${name} could not be read as JSON, so its variables are not set: ${(e as Error).message}`);
    }
  }
  return env;
}

const postLinkNames = (reports: StepReport[]) => reports.filter((r) => r.postLinkScripts?.length).map((r) => r.name);

export interface EnvironmentInputs {
  lock: Lock;
  platform: PbPlatform;
  /** The base image as it goes into the image. */
  base: State;
  /** The same base as a vertex of its own, for the frontend to look into (see baseProbe). */
  baseProbe: State;
  tool: ToolImage;
  environmentName?: string;
}

/** Phase 1: the environment as LLB (see the top of this file). */
export async function environmentGraph(bridge: Bridge, plan: BuildPlan, inputs: EnvironmentInputs, sourceInfo: PbSourceInfo): Promise<EnvironmentGraph> {
  const { lock, platform, tool } = inputs;
  const subdir = subdirOf(platform);
  const packages = lock.packages.filter((p) => p.platform === subdir && p.manager === "conda" && !isVirtualPackageName(p.name));
  const requested = Object.fromEntries(plan.conda.specs.map((s) => [s.value.name, s.value.text]));
  // The environment's python runs in the install steps, on the build machine's platform.
  const compilePyc = plan.conda.compilePyc && formatPlatform(platform) === formatPlatform(tool.platform);
  const warnings: string[] = [];
  if (plan.conda.compilePyc && !compilePyc) {
    warnings.push(`.pyc files are not compiled for ${formatPlatform(platform)}: that would need its python to run on this ${formatPlatform(tool.platform)} build machine (emulation); imports compile in memory at run time instead`);
  }
  const stage = installStage({
    tool,
    packages,
    prefix: plan.prefix,
    requested,
    variables: plan.conda.variables,
    environmentName: inputs.environmentName,
    sourceDateEpoch: plan.sourceDateEpoch,
    ignoreCache: plan.ignoreCache,
    compilePyc,
    privateChannels: plan.conda.privateChannels,
    prune: { remove: plan.conda.prune.remove, keep: plan.conda.prune.keep },
    network: plan.network,
    mergeOp: bridge.llbCaps.has("mergeop"),
    httpAuth: bridge.llbCaps.has("source.http.auth"),
    // A package the user asked for points at its line; the rest at the dependencies list.
    sourceRange: (name) => plan.conda.specs.find((s) => s.value.name === name)?.range ?? plan.conda.dependenciesRange,
  });
  let state = merge([inputs.base, ...stage.layers], { name: `[install ${formatPlatform(platform)}] ${packages.length} packages into ${plan.prefix}` });
  const history = [...stage.history];
  const reportFolder = copyTogether(stage.reports, { name: `[install] reports of ${stage.reports.length} steps` });
  const reportFolders = [reportFolder];
  mark("graph");

  if (plan.conda.pip.length && !packages.some((p) => p.name === "pip")) {
    throw new SpecError({ name: sourceInfo.filename, text: utf8(sourceInfo.data) }, [{ message: "dependencies: the pip: list needs pip in the environment; add `- pip` to dependencies", range: plan.conda.pip[0]!.range }]);
  }
  let earlyReports: StepReport[] | undefined;
  const postLinkRan: string[] = [];
  if (plan.conda.postLink.value === "run") {
    // Which packages ship a post-link script is only known from their steps' reports, so this
    // (opt-in) mode reads them before the image is solved.
    earlyReports = await readReports(bridge, reportFolder, plan, sourceInfo);
    const byName = new Map(earlyReports.map((r) => [r.name, r]));
    const names = postLinkNames(stage.order.map((n) => byName.get(n)).filter((r): r is StepReport => r !== undefined));
    if (names.length) {
      state = await runPostLinkScripts(bridge, plan, inputs.baseProbe, state, names, packages, sourceInfo);
      postLinkRan.push(...names);
      history.push(...names.map((n) => `conda-frontend: post-link script of ${n}`));
    }
  }
  if (plan.conda.pip.length) {
    const pip = pipStage({
      env: state,
      prefix: plan.prefix,
      requirements: plan.conda.pip.map((p) => p.value),
      pipEnv: plan.conda.pipEnv,
      prune: plan.conda.prune,
      compilePyc: plan.conda.compilePyc,
      network: plan.network,
      ignoreCache: plan.ignoreCache,
      sourceRanges: plan.conda.pip.map((p) => p.range),
    });
    state = pip.state;
    history.push(`conda-frontend: pip install ${plan.conda.pip.map((p) => p.value).join(" ")}`);
    reportFolders.push(copyTogether([pip.report], { name: "[pip] report" }));
  }
  return { state, history, reportFolders, order: stage.order, packages, compilePyc, warnings, earlyReports, postLinkRan };
}

/** Phase 2: after the image is solved, what its steps reported (see the top of this file). */
export async function readEnvironment(bridge: Bridge, plan: BuildPlan, graph: EnvironmentGraph, baseConfig: { Env?: string[] }, environmentName: string | undefined, sourceInfo: PbSourceInfo): Promise<InstalledEnvironment> {
  const [installFolder, pipFolder] = graph.reportFolders as [State, State | undefined];
  const [installReports, pipReports] = await Promise.all([
    graph.earlyReports ?? readReports(bridge, installFolder, plan, sourceInfo),
    pipFolder ? readReports(bridge, pipFolder, plan, sourceInfo) : [],
  ]);
  mark("reports");
  const byName = new Map(installReports.map((r) => [r.name, r]));
  const reports = graph.order.map((n) => byName.get(n)).filter((r): r is StepReport => r !== undefined);
  const env: [string, string][] = [];
  const warnings: string[] = [...graph.warnings];
  const basePath = getEnv(baseConfig.Env, "PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env.push(["PATH", `${plan.prefix}/bin:${basePath}`]);
  env.push(["CONDA_PREFIX", plan.prefix]);
  if (environmentName) env.push(["CONDA_DEFAULT_ENV", environmentName]);
  env.push(...activationVariables(reports, `${plan.prefix}/etc/conda/env_vars.d`, warnings));
  env.push(...plan.conda.variables);

  const activate = reports.flatMap((r) => r.activateScripts ?? []).sort();
  if (activate.length) {
    warnings.push(`activation scripts cannot run in the image (it has no shell to run them at start-up), so what they set is not set: ${activate.join(", ")}; set what your app needs with image.env`);
  }
  const scripts = postLinkNames(reports);
  if (graph.postLinkRan.length) {
    warnings.push(`ran the post-link scripts of ${graph.postLinkRan.join(", ")} (image.post-link: run)`);
  } else if (scripts.length) {
    warnings.push(`these packages ship post-link scripts, which were not run (the default; image.post-link: run runs them, executing the package's code at build time): ${scripts.join(", ")}`);
  }
  const notes = graph.compilePyc && removesPyc(plan.conda.prune) ? [".pyc files were not compiled (the prune rules remove __pycache__)"] : [];
  warnings.push(formatSummary(plan.prefix, plan.conda.prune.preset, [...reports, ...pipReports], notes));
  return { env, warnings };
}
