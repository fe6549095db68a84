// The frontend's side of installing: build the install stage for a platform, then read the install
// steps' reports for what activation would have done (env_vars.d), what cannot be done without a
// shell (activate.d scripts), post-link scripts that were not run, and the size summary. The
// installed environment itself is never opened here: on the containerd store that would make
// BuildKit materialise the merge of every package layer, which export does not need.
import { mark } from "../timing";
import { formatSummary, isStepReport, type StepReport } from "../conda/prune/report";
import { removesPyc } from "../conda/prune/rules";
import { isVirtualPackageName, subdirOf } from "../conda/virtual-packages";
import type { Bridge } from "../gateway/bridge";
import { getEnv } from "../image/config";
import { copyTogether, marshal, merge, State } from "../llb";
import type { PbPlatform, PbSourceInfo } from "../llb/pb";
import { formatPlatform } from "../llb/platform";
import { SpecError } from "../spec/errors";
import type { Lock, LockedPackage } from "../spec/lock";
import { installStage } from "../stages/install";
import { pipStage } from "../stages/pip";
import type { BuildPlan } from "../stages/plan";
import type { ToolImage } from "../stages/solve";

export interface InstalledEnvironment {
  /** Base image plus the environment's layers. */
  state: State;
  /** Variables for the image config, in order (later wins). */
  env: [string, string][];
  warnings: string[];
}

const utf8 = (b: Uint8Array) => Buffer.from(b).toString("utf8");

/**
 * image.post-link: run. Each script runs as root in the image being built (base + environment),
 * in dependency order, with conda's variables; it needs the base's /bin/sh and runs code from the
 * package - the reason it is off by default.
 */
async function runPostLinkScripts(bridge: Bridge, plan: BuildPlan, base: State, state: State, names: string[], packages: LockedPackage[], sourceInfo: PbSourceInfo): Promise<State> {
  const ref = await bridge.solve(marshal(base, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo }), { evaluate: true });
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
 * The steps' reports (report.ts), read from their report mounts: one small entry per step, copied
 * into one folder by a single file op (a merge op would be materialised just to be read). Most
 * are symlinks whose target is the report, all read by the one ReadDir; a long one is a file.
 */
async function readReports(bridge: Bridge, reports: State[], plan: BuildPlan, sourceInfo: PbSourceInfo): Promise<StepReport[]> {
  const all = copyTogether(reports, { name: `[install] reports of ${reports.length} steps` });
  const definition = marshal(all, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo });
  mark("marshalled");
  const ref = await bridge.solve(definition, { evaluate: true });
  mark("installed");
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

export async function installEnvironment(
  bridge: Bridge,
  plan: BuildPlan,
  lock: Lock,
  platform: PbPlatform,
  base: { state: State; config: { Env?: string[] } },
  tool: ToolImage,
  environmentName: string | undefined,
  sourceInfo: PbSourceInfo,
): Promise<InstalledEnvironment> {
  const subdir = subdirOf(platform);
  const packages = lock.packages.filter((p) => p.platform === subdir && p.manager === "conda" && !isVirtualPackageName(p.name));
  const requested = Object.fromEntries(plan.conda.specs.map((s) => [s.value.name, s.value.text]));
  // The environment's python runs in the install steps, on the build machine's platform.
  const compilePyc = plan.conda.compilePyc && formatPlatform(platform) === formatPlatform(tool.platform);
  const earlyWarnings: string[] = [];
  if (plan.conda.compilePyc && !compilePyc) {
    earlyWarnings.push(`.pyc files are not compiled for ${formatPlatform(platform)}: that would need its python to run on this ${formatPlatform(tool.platform)} build machine (emulation); imports compile in memory at run time instead`);
  }
  const stage = installStage({
    tool,
    packages,
    prefix: plan.prefix,
    requested,
    variables: plan.conda.variables,
    environmentName,
    sourceDateEpoch: plan.sourceDateEpoch,
    ignoreCache: plan.ignoreCache,
    compilePyc,
    privateChannels: plan.conda.privateChannels,
    prune: { remove: plan.conda.prune.remove, keep: plan.conda.prune.keep },
    network: plan.network,
    mergeOp: bridge.llbCaps.has("mergeop"),
    // A package the user asked for points at its line; the rest at the dependencies list.
    sourceRange: (name) => plan.conda.specs.find((s) => s.value.name === name)?.range ?? plan.conda.dependenciesRange,
  });
  const state = merge([base.state, ...stage.layers], { name: `[install ${formatPlatform(platform)}] ${packages.length} packages into ${plan.prefix}` });
  mark("graph");

  // Reading the reports runs the install steps (or finds them cached); the layers stack at export.
  const byName = new Map((await readReports(bridge, stage.reports, plan, sourceInfo)).map((r) => [r.name, r]));
  const reports = stage.order.map((n) => byName.get(n)).filter((r): r is StepReport => r !== undefined);
  mark("reports");
  const env: [string, string][] = [];
  const warnings: string[] = [...earlyWarnings];
  const basePath = getEnv(base.config.Env, "PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env.push(["PATH", `${plan.prefix}/bin:${basePath}`]);
  env.push(["CONDA_PREFIX", plan.prefix]);
  if (environmentName) env.push(["CONDA_DEFAULT_ENV", environmentName]);
  env.push(...activationVariables(reports, `${plan.prefix}/etc/conda/env_vars.d`, warnings));
  env.push(...plan.conda.variables);

  const activate = reports.flatMap((r) => r.activateScripts ?? []).sort();
  if (activate.length) {
    warnings.push(`activation scripts cannot run in the image (it has no shell to run them at start-up), so what they set is not set: ${activate.join(", ")}; set what your app needs with image.env`);
  }
  const scripts = reports.filter((r) => r.postLinkScripts?.length).map((r) => r.name);
  let result = state;
  if (plan.conda.pip.length) {
    if (!packages.some((p) => p.name === "pip")) {
      throw new SpecError({ name: sourceInfo.filename, text: utf8(sourceInfo.data) }, [{ message: "dependencies: the pip: list needs pip in the environment; add `- pip` to dependencies", range: plan.conda.pip[0]!.range }]);
    }
  }
  if (scripts.length && plan.conda.postLink.value === "run") {
    result = await runPostLinkScripts(bridge, plan, base.state, state, scripts, packages, sourceInfo);
    warnings.push(`ran the post-link scripts of ${scripts.join(", ")} (image.post-link: run)`);
  } else if (scripts.length) {
    warnings.push(`these packages ship post-link scripts, which were not run (the default; image.post-link: run runs them, executing the package's code at build time): ${scripts.join(", ")}`);
  }
  let pipReports: StepReport[] = [];
  if (plan.conda.pip.length) {
    const pip = pipStage({
      env: result,
      prefix: plan.prefix,
      requirements: plan.conda.pip.map((p) => p.value),
      pipEnv: plan.conda.pipEnv,
      prune: plan.conda.prune,
      compilePyc: plan.conda.compilePyc,
      network: plan.network,
      ignoreCache: plan.ignoreCache,
      sourceRanges: plan.conda.pip.map((p) => p.range),
    });
    result = pip.state;
    pipReports = await readReports(bridge, [pip.report], plan, sourceInfo);
  }
  const notes = compilePyc && removesPyc(plan.conda.prune) ? [".pyc files were not compiled (the prune rules remove __pycache__)"] : [];
  warnings.push(formatSummary(plan.prefix, plan.conda.prune.preset, [...reports, ...pipReports], notes));
  return { state: result, env, warnings };
}
