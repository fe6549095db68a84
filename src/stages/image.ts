// plan -> LLB for a whole image: the base, the environment (install steps, post-link scripts
// when asked, the pip step), the app layer and app install, for one platform of an ImagePlan.
// Pure: the same plan always gives the same graph (golden tests: test/stages/golden).
import { isVirtualPackageName, subdirOf } from "../conda/virtual-packages";
import { SpecError } from "../input/errors";
import { type LockedPackage, writeCondaLock } from "../input/lock";
import type { SourceRange } from "../input/source";
import { copyTogether, stack, State } from "../llb";
import type { PbPlatform } from "../llb/pb";
import { formatPlatform } from "../llb/platform";
import type { ImagePlan, PlatformPlan } from "../plan/image-plan";
import type { BuildPlan } from "../plan/plan";
import { namedContextState } from "./contexts";
import { appInstall, appLayer, contextIncludes, describeCopy } from "./app";
import { type InstallStageInput, installStage, pythonLayer } from "./install";
import { type ForeignPip, type ForeignPython, pipStage } from "./pip";
import { platformVirtualPackages } from "../plan/lock-request";
import { sbomStage, sbomWithoutPackages } from "./sbom";
import { lockFileState, solveStage } from "./solve";
import type { SbomRequest } from "../conda/sbom";
import type { PycCompiler } from "../plan/pyc-compiler";

export interface EnvironmentLayers {
  /** Base image plus the environment's layers (and pip's, and what post-link scripts wrote). */
  state: State;
  /** What each layer above the base holds, bottom to top, for the image's history. */
  history: string[];
  /** The install steps' reports in one folder, then the pip step's: read after the image is solved. */
  reportFolders: State[];
  /** Package names in the order their layers stack. */
  order: string[];
  packages: LockedPackage[];
  /** Whether the install steps compile .pyc (asked for, and the build machine can run python). */
  compilePyc: boolean;
  /** Information for the user about the environment (e.g. .pyc not compiled for a foreign platform). */
  notices: string[];
  /** Where a foreign platform's pip steps run the build-machine python (plan/pyc-compiler.ts). */
  compiler?: ForeignPython;
}

export interface ImageGraph {
  /** The whole image, base to app: solved in one Solve. */
  image: State;
  history: string[];
  environment?: EnvironmentLayers;
  /** With --sbom: the SBOM step's output and the document's path in it, for the attestation. */
  sbom?: { file: State; path: string };
}

function inputError(plan: ImagePlan, message: string, range: SourceRange | undefined): SpecError {
  return new SpecError(plan.input, [{ message, range }]);
}

/** What the base's source is made from: the plan, and the session an OCI layout base is served in. */
type BasePlan = Pick<ImagePlan, "build" | "daemon"> & { context: Pick<ImagePlan["context"], "sessionId"> };

/** The base image as it goes into the image, pinned by the digest the plan resolved. */
export function baseState(plan: BasePlan, p: PlatformPlan): State {
  return baseSource(plan, p, {});
}

/**
 * The same image as a vertex of its own, for the frontend to look into (its glibc, /bin/sh).
 * A vertex an earlier Solve completed reaches later Solves without its cache keys (see
 * frontend/install.ts), so the image's own base must not be the one read.
 */
export function baseProbe(plan: BasePlan, p: PlatformPlan): State {
  return baseSource(plan, p, { recordType: "internal", name: `[base] ${plan.build.base.ref} (read by the frontend)` });
}

/** The base from a registry, or from the client's OCI layout store (--build-context base=oci-layout://...). */
function baseSource(plan: BasePlan, p: PlatformPlan, extra: { recordType?: "internal"; name?: string }): State {
  const { base } = plan.build;
  const sourceRanges = base.range ? [base.range] : undefined;
  if (base.ociStore !== undefined) {
    return State.ociLayout(base.ref, p.platform, { sessionId: plan.context.sessionId, storeId: base.ociStore, digest: p.base.digest, sourceRanges, recordType: extra.recordType, name: extra.name ?? `[base] OCI layout ${base.ref}` });
  }
  return State.image(base.ref, p.platform, { digest: p.base.digest, resolveMode: plan.daemon.imageResolveMode, sourceRanges, ...extra });
}

/** The solve step, when the plan's lock was solved by this build (its output holds conda-lock.yml). */
export function solveGraph(plan: Pick<ImagePlan, "build" | "tool" | "lock">): State | undefined {
  if (!plan.lock?.solve || !plan.tool) return undefined;
  return solveStage({ tool: plan.tool, request: plan.lock.solve, network: plan.build.network, ignoreCache: plan.build.ignoreCache });
}

/** The `lock` target: conda-lock.yml from the solve step, or the given lock as we write it. */
export function lockGraph(plan: Pick<ImagePlan, "build" | "tool" | "lock">): State {
  const solved = solveGraph(plan);
  return lockFileState(solved, solved || !plan.lock ? undefined : writeCondaLock(plan.lock.lock));
}

/** Whether the build machine (where our build steps run) is of this platform: else it is foreign. */
function onBuildMachine(plan: Pick<ImagePlan, "tool">, platform: PbPlatform): boolean {
  return formatPlatform(platform) === formatPlatform(plan.tool!.platform);
}

/** The lock's PyPI wheels for a platform (pixi.lock's pypi packages, conda-lock's pip ones). */
function lockedWheels(plan: ImagePlan, platform: PbPlatform): LockedPackage[] {
  const subdir = subdirOf(platform);
  return (plan.lock?.lock.packages ?? []).filter((p) => p.platform === subdir && p.manager === "pip");
}

/** The lock's conda packages for a platform, without virtual packages. */
function platformPackages(plan: ImagePlan, platform: PbPlatform): LockedPackage[] {
  const subdir = subdirOf(platform);
  return (plan.lock?.lock.packages ?? []).filter((p) => p.platform === subdir && p.manager === "conda" && !isVirtualPackageName(p.name));
}

/**
 * The install stage for a platform: one step per package, stacked on the base. Its report folder
 * is what image.post-link: run reads before the rest of the graph can be made.
 */
export function installLayers(plan: ImagePlan, p: PlatformPlan): EnvironmentLayers {
  const { build } = plan;
  const tool = plan.tool!;
  const packages = platformPackages(plan, p.platform);
  // .pyc are compiled on the build machine: by the environment's python when it runs there, else
  // by a python of the same version made for it (plan/pyc-compiler.ts).
  const native = onBuildMachine(plan, p.platform);
  const python = packages.find((x) => x.name === "python");
  const compiler = native || !python ? undefined : plan.pycCompilers?.find((c) => c.version === python.version);
  const compilePyc = build.conda.compilePyc && (native || compiler !== undefined);
  const compilerState = compiler ? foreignPython(plan, compiler) : undefined;
  const compilerLayer = compiler && compilePyc ? compilerPython(plan, compiler) : undefined;
  const notices: string[] = [];
  if (build.conda.compilePyc && !compilePyc && python) {
    notices.push(`.pyc files are not compiled for ${formatPlatform(p.platform)}: the channel has no python ${python.version} for this ${formatPlatform(tool.platform)} build machine to compile them with (its own would need emulation); imports compile in memory at run time instead`);
  }
  const stage = installStage({ ...environmentInstall(plan, packages, compilePyc), foreign: !native, pycCompiler: compilerLayer, native: compiler ? nativeInstall(plan, compiler) : undefined });
  const state = stack([baseState(plan, p), ...stage.layers], plan.daemon.stack, { name: `[install ${formatPlatform(p.platform)}] ${packages.length} packages into ${build.prefix}` });
  const reportFolder = copyTogether(stage.reports, { name: `[install] reports of ${stage.reports.length} steps` });
  return { state, history: [...stage.history], reportFolders: [reportFolder], order: stage.order, packages, compilePyc, notices, ...(compilerState ? { compiler: compilerState } : {}) };
}

/** How the environment's packages are installed on a platform (its install steps' input). */
function environmentInstall(plan: ImagePlan, packages: LockedPackage[], compilePyc: boolean): InstallStageInput {
  const { build } = plan;
  return {
    tool: plan.tool!,
    packages,
    prefix: build.prefix,
    requested: Object.fromEntries(build.conda.specs.map((s) => [s.value.name, s.value.text])),
    variables: build.conda.variables,
    environmentName: build.conda.name,
    sourceDateEpoch: build.sourceDateEpoch,
    ignoreCache: build.ignoreCache,
    compilePyc,
    privateChannels: build.conda.privateChannels,
    prune: { remove: build.conda.prune.remove, keep: build.conda.prune.keep },
    network: build.network,
    mergeOp: plan.daemon.stack === "merge",
    provenance: build.provenanceMax,
    // A package the user asked for points at its line; the rest at the dependencies list.
    sourceRange: (name) => build.conda.specs.find((s) => s.value.name === name)?.range ?? build.conda.dependenciesRange,
  };
}

/** The build machine's own environment's install input, when it is built too and its python compiles for a foreign platform. */
function nativeInstall(plan: ImagePlan, compiler: PycCompiler): InstallStageInput | undefined {
  const tool = plan.tool!;
  if (compiler.solve || !plan.build.platforms.some((p) => onBuildMachine(plan, p))) return undefined;
  return environmentInstall(plan, platformPackages(plan, tool.platform), plan.build.conda.compilePyc);
}

/**
 * How a build-machine python (and what it needs to run) is installed. When the build machine's own
 * platform is built too and the python is that environment's (from the lock), its packages are
 * installed exactly as that image's are: the same steps, which BuildKit runs once for both (a
 * two-platform build installed CPython for linux-64 twice otherwise). Else a bare install: not
 * pruned, not compiled.
 */
function compilerInstall(plan: ImagePlan, compiler: PycCompiler): InstallStageInput {
  const { build } = plan;
  return nativeInstall(plan, compiler)
    ? environmentInstall(plan, compiler.packages, build.conda.compilePyc)
    : { tool: plan.tool!, packages: compiler.packages, prefix: build.prefix, requested: {}, variables: [], ignoreCache: build.ignoreCache, compilePyc: false, privateChannels: build.conda.privateChannels, network: build.network, mergeOp: plan.daemon.stack === "merge" };
}

/**
 * The build-machine python installed at the prefix on nothing, with what it needs to run: what a
 * foreign platform's pip steps run when the build machine's own image is not built too
 * (foreignPython; its install steps compile with compilerPython alone).
 */
export function compilerEnvironment(plan: ImagePlan, compiler: PycCompiler): State {
  // The packages' layers, without the environment's conda-meta/history (the last one).
  const layers = installStage(compilerInstall(plan, compiler)).layers.slice(0, -1);
  return stack([State.scratch(), ...layers], plan.daemon.stack, { name: `[pyc] python ${compiler.version} for the ${formatPlatform(plan.tool!.platform)} build machine, to run pip with` });
}

/**
 * Where a foreign platform's pip steps run the build machine's python: in the build machine's own
 * image of this build (base and environment) when its python is the compiler, else in our image
 * with the compiler environment at the prefix (pip.ts ForeignPython).
 */
function foreignPython(plan: ImagePlan, compiler: PycCompiler): ForeignPython {
  const own = nativeInstall(plan, compiler) ? plan.platforms.find((p) => onBuildMachine(plan, p.platform)) : undefined;
  return own ? { image: installLayers(plan, own).state } : { tool: plan.tool!, compiler: compilerEnvironment(plan, compiler) };
}

/**
 * The compiler's python package alone (its own step's layer): what the install steps compile
 * with, as a native environment's steps compile with its python's layer. Not the whole
 * environment, so that a foreign platform's steps start when that one step is done, beside the
 * build machine's own, instead of after every package python depends on.
 */
export function compilerPython(plan: ImagePlan, compiler: PycCompiler): State {
  return pythonLayer(compilerInstall(plan, compiler))!;
}

/**
 * image.post-link: run. Each script runs as root in the image being built (base + environment),
 * in dependency order, with conda's variables; it needs the base's /bin/sh (the frontend checks)
 * and runs code from the package - the reason it is off by default.
 */
function postLinkSteps(build: BuildPlan, state: State, names: string[], packages: LockedPackage[]): State {
  let s = state;
  for (const name of names) {
    const p = packages.find((x) => x.name === name)!;
    s = s
      .run({
        args: ["/bin/sh", `${build.prefix}/bin/.${name}-post-link.sh`],
        env: { PREFIX: build.prefix, PKG_NAME: p.name, PKG_VERSION: p.version, PKG_BUILDNUM: /_(\d+)$/.exec(p.build)?.[1] ?? "0", PATH: `${build.prefix}/bin:/usr/local/bin:/usr/bin:/bin` },
        cwd: build.prefix,
        user: "0:0",
        network: "none",
        name: `[post-link] ${name} ${p.version}`,
        ignoreCache: build.ignoreCache,
        sourceRanges: build.conda.postLink.range ? [build.conda.postLink.range] : undefined,
      })
      .root();
  }
  return s;
}

/** The environment: install steps, then post-link scripts (when the plan names them), then pip. */
export function environmentLayers(plan: ImagePlan, p: PlatformPlan): EnvironmentLayers {
  const { build } = plan;
  const env = installLayers(plan, p);
  const wheels = lockedWheels(plan, p.platform);
  if (wheels.length && !env.packages.some((x) => x.name === "pip")) {
    throw inputError(plan, `${plan.lock!.fileName} pins PyPI packages (${wheels.map((w) => w.name).join(", ")}), which pip installs: the environment needs pip; add pip to the conda dependencies and lock again`, build.conda.dependenciesRange);
  }
  if (build.conda.pip.length && !env.packages.some((x) => x.name === "pip")) {
    throw inputError(plan, "dependencies: the pip: list needs pip in the environment; add `- pip` to dependencies", build.conda.pip[0]!.range);
  }
  let state = env.state;
  const history = [...env.history];
  const postLink = p.postLink ?? [];
  if (postLink.length && !onBuildMachine(plan, p.platform)) {
    throw inputError(plan, `image.post-link: run: the post-link scripts of ${postLink.join(", ")} would run in the ${formatPlatform(p.platform)} image, which this ${formatPlatform(plan.tool!.platform)} build machine cannot run without emulation; build that platform on a machine of its own, or leave post-link scripts out (skip, the default)`, build.conda.postLink.range);
  }
  if (postLink.length) {
    state = postLinkSteps(build, state, postLink, env.packages);
    history.push(...postLink.map((n) => `conda-frontend: post-link script of ${n}`));
  }
  const reportFolders = [...env.reportFolders];
  if (build.conda.pip.length || wheels.length) {
    const foreign = foreignPip(plan, p, env);
    const pip = pipStage({
      foreign,
      wheels,
      env: state,
      prefix: build.prefix,
      requirements: build.conda.pip.map((r) => r.value),
      pipEnv: build.conda.pipEnv,
      prune: build.conda.prune,
      compilePyc: build.conda.compilePyc,
      network: build.network,
      ignoreCache: build.ignoreCache,
      sourceRanges: build.conda.pip.map((r) => r.range),
    });
    state = pip.state;
    history.push(wheels.length ? `conda-frontend: pip install ${wheels.map((w) => `${w.name}==${w.version}`).join(" ")} (locked wheels)` : `conda-frontend: pip install ${build.conda.pip.map((r) => r.value).join(" ")}`);
    reportFolders.push(copyTogether([pip.report], { name: "[pip] report" }));
  }
  return { ...env, state, history, reportFolders };
}

/**
 * pip for a platform the build machine cannot run: by the build machine's python of the target's
 * version. undefined for the build machine's own platform; an error when there is no such python.
 */
export function foreignPip(plan: ImagePlan, p: PlatformPlan, env: Pick<EnvironmentLayers, "packages" | "compiler">): ForeignPip | undefined {
  const tool = plan.tool!;
  if (onBuildMachine(plan, p.platform)) return undefined;
  const python = env.packages.find((x) => x.name === "python");
  const subdir = subdirOf(p.platform);
  if (!python || !env.compiler) {
    const why = !python ? "the environment has no python" : `the channel has no python ${python.version} for this ${formatPlatform(tool.platform)} build machine (pip runs there, with the target's python version, to need no emulation)`;
    throw inputError(plan, `pip for ${formatPlatform(p.platform)}: ${why}`, plan.build.conda.pip[0]?.range ?? plan.build.appInstall?.range);
  }
  const glibc = platformVirtualPackages(plan.build.conda, subdir).find((v) => v.name === "__glibc")?.version ?? "2.17";
  return { python: env.compiler, pythonVersion: python.version, subdir, glibc };
}

/** The build context as the app layer reads it: only what app.copy names is transferred. */
export function contextState(plan: ImagePlan): State {
  const { context } = plan;
  return State.local(context.name, {
    sessionId: context.sessionId,
    include: contextIncludes(plan.build.appCopy.filter((c) => c.from === undefined)),
    exclude: context.exclude,
    sharedKeyHint: context.name,
    name: "[internal] load build context",
  });
}

/**
 * The named build contexts app.copy reads: a client folder (only the paths copied from it are
 * sent) or an image's filesystem for this platform.
 */
export function namedContextStates(plan: ImagePlan, p: PlatformPlan): Record<string, State> {
  const states: Record<string, State> = {};
  for (const name of new Set(plan.build.appCopy.flatMap((c) => (c.from === undefined ? [] : [c.from])))) {
    const context = plan.build.contexts?.[name];
    if (!context) continue; // the app layer says which context is missing
    const include = contextIncludes(plan.build.appCopy.filter((c) => c.from === name));
    states[name] = namedContextState(name, context, { platform: p.platform, sessionId: plan.context.sessionId, include, resolveMode: plan.daemon.imageResolveMode });
  }
  return states;
}

/** The whole image of one platform: base, environment, app layer, app install. */
export function imageGraph(plan: ImagePlan, p: PlatformPlan): ImageGraph {
  const { build } = plan;
  const environment = plan.lock ? environmentLayers(plan, p) : undefined;
  const history = [...(environment?.history ?? [])];
  // What the frontend reads back (the lock, the steps' reports) travels with the image's cache.
  const solved = solveGraph(plan);
  const carry = [...(solved ? [solved] : []), ...(environment?.reportFolders ?? [])];
  const below = environment?.state ?? baseState(plan, p);
  const merged = plan.daemon.stack === "merge";
  // Stacked by copies, an app layer of one op is written straight onto the image: one op less to run.
  const onto = !merged && build.appCopy.every((c) => c.from === undefined) ? below : undefined;
  const app = appLayer({ platform: p.platform, workdir: build.workdir, copy: build.appCopy, context: contextState(plan), named: namedContextStates(plan, p), timestamp: build.sourceDateEpoch, carry, onto });
  const stacked = (layers: State[]) => stack(layers, plan.daemon.stack, { name: `[image ${formatPlatform(p.platform)}] stack layers` });
  const copied = `conda-frontend: ${build.appCopy.length ? `copy ${build.appCopy.map(describeCopy).join(" ")} to` : "create"} ${build.workdir}`;
  if (!build.appInstall) {
    history.push(copied);
    return withSbom(plan, p, { image: onto ? app : stacked([below, app]), history, environment });
  }
  if (!environment?.packages.some((x) => x.name === "pip")) {
    throw inputError(plan, "image.app.install: pip needs pip in the environment; add `- pip` to dependencies", build.appInstall.range);
  }
  const foreign = foreignPip(plan, p, environment);
  const install = { prefix: build.prefix, workdir: build.workdir, ignoreCache: build.ignoreCache, sourceRanges: [build.appInstall.range], foreign, compilePyc: build.conda.compilePyc };
  const installed = `conda-frontend: pip install --no-deps ${build.workdir}`;
  if (merged) {
    // The app is installed into the environment as it is (reading the app's files from the app
    // layer), and the app layer stacked last: the install step mounts a snapshot BuildKit already
    // has, where installing into the stacked image made BuildKit materialize the stack first
    // (a copy of every file's link, ~0.4 s for a 3000-file environment, in every code-only rebuild).
    history.push(installed, copied);
    return withSbom(plan, p, { image: stacked([appInstall({ ...install, image: below, app }), app]), history, environment });
  }
  history.push(copied, installed);
  return withSbom(plan, p, { image: appInstall({ ...install, image: onto ? app : stacked([below, app]) }), history, environment });
}

/** With --sbom, the SBOM on top: it reads every step's report, so it is the last thing made. */
function withSbom(plan: ImagePlan, p: PlatformPlan, graph: Omit<ImageGraph, "sbom">): ImageGraph {
  const { build } = plan;
  const { environment } = graph;
  if (!build.sbom) return graph;
  const request = sbomRequest(plan, p, environment);
  const sbom = environment && plan.tool ? sbomStage({ tool: plan.tool, request, reportFolders: environment.reportFolders, ignoreCache: build.ignoreCache }) : sbomWithoutPackages(request);
  const image = stack([graph.image, sbom.layer], plan.daemon.stack, { name: `[image ${formatPlatform(p.platform)}] add the SBOM` });
  return { ...graph, image, history: [...graph.history, sbom.history], sbom: { file: sbom.file, path: sbom.path } };
}

/** What the SBOM step is told at graph time: the lock's packages for the platform, the base, the prefix. */
export function sbomRequest(plan: ImagePlan, p: PlatformPlan, environment: EnvironmentLayers | undefined): SbomRequest {
  const { build, tool } = plan;
  const packages = (environment?.packages ?? []).map((x) => ({
    name: x.name,
    version: x.version,
    build: x.build,
    url: x.url,
    filename: x.filename,
    ...(x.sha256 ? { sha256: x.sha256 } : {}),
    ...(x.md5 ? { md5: x.md5 } : {}),
    depends: Object.keys(x.dependencies),
  }));
  return {
    name: build.conda.name ?? plan.input.name,
    platform: formatPlatform(p.platform),
    prefix: build.prefix,
    base: { ref: build.base.ref, ...(p.base.digest ? { digest: p.base.digest } : {}) },
    ...(build.sourceDateEpoch !== undefined ? { sourceDateEpoch: build.sourceDateEpoch } : {}),
    packages,
    tool: tool ? `${tool.ref}${tool.digest ? `@${tool.digest}` : ""}` : "conda-frontend",
  };
}
