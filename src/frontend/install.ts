// The frontend's side of installing, around the image's own solve:
//  1. The graph (stages/image.ts) does not depend on what the steps report, so the whole image
//     is solved in one Solve; the report folders ride along as inputs the app layer carries
//     (stages/app.ts). Only image.post-link: run reads reports first (postLinkPackages), to
//     know which packages have scripts to run.
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
import type { Bridge } from "../gateway/bridge";
import { getEnv } from "../image/config";
import { marshal, type State } from "../llb";
import type { PbSourceInfo } from "../llb/pb";
import { SpecError } from "../input/errors";
import type { ImagePlan, PlatformPlan } from "../plan/image-plan";
import { baseProbe, type EnvironmentLayers, installLayers } from "../stages/image";

const utf8 = (b: Uint8Array) => Buffer.from(b).toString("utf8");

export interface InstalledEnvironment {
  /** Variables for the image config, in order (later wins). */
  env: [string, string][];
  /** What the user should fix or know is not done (BuildKit warnings). */
  warnings: string[];
  /** Information: the size summary, what was done as asked (progress output, notices.ts). */
  notices: string[];
}

/**
 * The steps' reports (report.ts) from a report folder: one small entry per step, copied into
 * one folder by a single file op (a merge op would be materialised just to be read). Most are
 * symlinks whose target is the report, all read by the one ReadDir; a long one is a file.
 */
async function readReports(bridge: Bridge, folder: State, plan: ImagePlan, sourceInfo: PbSourceInfo): Promise<StepReport[]> {
  const ref = await bridge.solve(marshal(folder, { caps: bridge.llbCaps, ignoreCache: plan.build.ignoreCache, sourceInfo }), { evaluate: true });
  const entries = (await bridge.client.readDir(ref, "/")).filter((s) => s.path);
  const texts = await Promise.all(entries.map((s) => (s.linkname ? s.linkname : bridge.readFile(ref, `/${s.path}`).then(utf8))));
  return texts.map((t) => JSON.parse(t) as unknown).filter(isStepReport);
}

/** Reports in the order the packages' layers stack. */
function inLayerOrder(reports: StepReport[], order: string[]): StepReport[] {
  const byName = new Map(reports.map((r) => [r.name, r]));
  return order.map((n) => byName.get(n)).filter((r): r is StepReport => r !== undefined);
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

/**
 * image.post-link: run: which packages ship a post-link script is only known from their install
 * steps' reports, so this (opt-in) mode reads them before the image's graph is made, and checks
 * that the base has /bin/sh to run them (the base as a vertex of its own, see baseProbe).
 */
export async function postLinkPackages(bridge: Bridge, plan: ImagePlan, p: PlatformPlan, sourceInfo: PbSourceInfo): Promise<string[]> {
  const install = installLayers(plan, p);
  const names = postLinkNames(inLayerOrder(await readReports(bridge, install.reportFolders[0]!, plan, sourceInfo), install.order));
  if (!names.length) return names;
  const ref = await bridge.solve(marshal(baseProbe(plan, p), { caps: bridge.llbCaps, ignoreCache: plan.build.ignoreCache, sourceInfo }), { evaluate: true });
  // /bin/sh, or /usr/bin/sh where /bin is a link to it (StatFile does not follow links).
  const found = await Promise.all(["/bin/sh", "/usr/bin/sh"].map((path) => bridge.client.statFile(ref, path).then(() => true, () => false)));
  if (!found.includes(true)) {
    throw new SpecError(plan.input, [
      { message: `image.post-link: run needs /bin/sh in the base image to run post-link scripts (of ${names.join(", ")}), and ${plan.build.base.ref} has none; use a base with a shell, or leave post-link scripts off`, range: plan.build.conda.postLink.range },
    ]);
  }
  return names;
}

/** After the image is solved, what its steps reported (see the top of this file). */
export async function readEnvironment(bridge: Bridge, plan: ImagePlan, p: PlatformPlan, environment: EnvironmentLayers, baseConfig: { Env?: string[] }, sourceInfo: PbSourceInfo): Promise<InstalledEnvironment> {
  const { build } = plan;
  const [installFolder, pipFolder] = environment.reportFolders as [State, State | undefined];
  const [installReports, pipReports] = await Promise.all([readReports(bridge, installFolder, plan, sourceInfo), pipFolder ? readReports(bridge, pipFolder, plan, sourceInfo) : []]);
  mark("reports");
  const reports = inLayerOrder(installReports, environment.order);
  const warnings: string[] = [];
  const notices: string[] = [...environment.notices];
  const basePath = getEnv(baseConfig.Env, "PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const env: [string, string][] = [
    ["PATH", `${build.prefix}/bin:${basePath}`],
    ["CONDA_PREFIX", build.prefix],
    ...(build.conda.name ? [["CONDA_DEFAULT_ENV", build.conda.name] as [string, string]] : []),
    ...activationVariables(reports, `${build.prefix}/etc/conda/env_vars.d`, warnings),
    ...build.conda.variables,
  ];
  const activate = reports.flatMap((r) => r.activateScripts ?? []).sort();
  if (activate.length) {
    warnings.push(`activation scripts cannot run in the image (it has no shell to run them at start-up), so what they set is not set: ${activate.join(", ")}; set what your app needs with image.env`);
  }
  const ran = p.postLink ?? [];
  const scripts = postLinkNames(reports);
  if (ran.length) {
    notices.push(`ran the post-link scripts of ${ran.join(", ")} (image.post-link: run)`);
  } else if (scripts.length) {
    warnings.push(`these packages ship post-link scripts, which were not run (the default; image.post-link: run runs them, executing the package's code at build time): ${scripts.join(", ")}`);
  }
  const notes = environment.compilePyc && removesPyc(build.conda.prune) ? [".pyc files were not compiled (the prune rules remove __pycache__)"] : [];
  notices.push(formatSummary(build.prefix, build.conda.prune.preset, [...reports, ...pipReports], notes));
  return { env, warnings, notices };
}
