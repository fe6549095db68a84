// spec + options -> plan: every decision about the build made once, from the user's file and
// the build's options, before any LLB exists. Pure; unit-tested without a daemon.
import type { ImageSettings } from "../image/config";
import { normalizeReference } from "../image/reference";
import type { PbPlatform } from "../llb/pb";
import { parsePlatform, uniquePlatforms } from "../llb/platform";
import type { EnvironmentSpec } from "../input/environment";
import { type Problem, show, SpecError } from "../input/errors";
import { type AppCopy, defaultBase, defaultPrefix, defaultUser, defaultWorkdir } from "../input/image-section";
import type { Located, SourceRange } from "../input/source";
import { ChannelError, resolveChannels, type ResolvedChannel } from "../conda/channels";
import { type MatchSpec, MatchSpecError, parseMatchSpec } from "../conda/matchspec";
import { ContextError, contextOptions, localSessionOptions, type NamedContext, parseNamedContext } from "./contexts";
import { GlobError, globToRegExp, type PrunePolicy, presets } from "../conda/prune/rules";

/**
 * What the planner reads of the build's options. Declared here so the pure planner imports
 * nothing of the gateway; gateway/options.ts's BuildOptions extends it.
 */
export interface PlanOptions {
  /** Every option as the daemon sent it (tells a user's --platform from the default). */
  raw: Record<string, string>;
  target?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  /** `all` for a plain --no-cache, or the names given to --no-cache-filter. */
  noCache: "all" | string[] | undefined;
  platforms: PbPlatform[];
  /** `host`, `none` or `sandbox` (default) for our exec steps. */
  networkMode: "sandbox" | "host" | "none";
  sourceDateEpoch?: number;
}

export const targets = ["image", "lock", "plan"] as const;
export type Target = (typeof targets)[number];

export interface BuildPlan {
  target: Target;
  platforms: PbPlatform[];
  /**
   * `context` names the build context the base came from (--build-context base=...); `ociStore`
   * is the client's OCI layout store that holds it (base=oci-layout://...), else a registry does.
   */
  base: { ref: string; range?: SourceRange; origin: string; context?: string; ociStore?: string };
  prefix: string;
  workdir: string;
  appCopy: AppCopy[];
  /** The named build contexts the build reads (app.copy's `from:`, the lock), by name; absent when none. */
  contexts?: Record<string, NamedContext>;
  /** image.app.install: pip - pip-install the copied app (no dependencies) into the environment. */
  appInstall?: { range: SourceRange };
  /** Image settings shared by every platform (the platform is filled in per platform). */
  image: Omit<ImageSettings, "platform">;
  ignoreCache: boolean;
  /** --network, for the build steps that fetch (solve, private downloads). */
  network: "sandbox" | "host" | "none";
  sourceDateEpoch?: number;
  /** --sbom (attest:sbom): the image carries an SPDX document and the build returns it as its SBOM attestation. */
  sbom: boolean;
  /**
   * --provenance (attest:provenance) when its mode is max: packages are then downloaded as
   * BuildKit HTTP sources, which provenance lists (our steps' own downloads it cannot see).
   */
  provenanceMax: boolean;
  conda: CondaPlan;
  /** Things the user should know, shown through BuildKit's warnings. */
  warnings: Problem[];
}

export interface CondaPlan {
  specs: Located<MatchSpec>[];
  pip: Located<string>[];
  channels: ResolvedChannel[];
  /** Where `channels:` is written, for errors about channels. */
  channelsRange?: SourceRange;
  dependenciesRange?: SourceRange;
  /**
   * A lock to use instead of solving: a path relative to the input file's folder, or to the
   * build context `context` names (--build-context lock=...; its source is in BuildPlan.contexts).
   */
  lockfile?: { path: string; range?: SourceRange; origin: string; required: boolean; context?: string };
  /** image.virtual-packages (name -> version[=build]). */
  virtualPackages: Record<string, string>;
  /** CONDA_OVERRIDE_* build args, keyed by what follows the prefix. */
  overrides: Record<string, string>;
  /** `variables:`: what activation would set; they become image ENV and conda-meta/state. */
  variables: [string, string][];
  /** `name:`, for CONDA_DEFAULT_ENV. */
  name?: string;
  /** image.compile-pyc, default on: see README ("Byte-compiled .pyc files") for the measurement. */
  compilePyc: boolean;
  /** image.post-link: run executes packages' post-link scripts; skip (the default) does not. */
  postLink: { value: "run" | "skip"; range?: SourceRange };
  /** URL prefixes reached with the `conda-auth` secret's header (repodata and packages). */
  privateChannels: string[];
  /** Where image.private-channels is written (errors about the secret point there). */
  privateChannelsRange?: SourceRange;
  /** image.prune: what the install steps never write (default: the safe preset). */
  prune: PrunePolicy & { preset: string };
  /** PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX, PIP_TRUSTED_HOST build args. */
  pipEnv: Record<string, string>;
}

export const conventionalLockName = "conda-lock.yml";

/** The preset rules that remove pip itself. */
const pipGlobs = ["lib/python*/site-packages/pip/**", "bin/pip", "bin/pip3"];

function planPrune(spec: EnvironmentSpec, problems: Problem[], warnings: Problem[]): PrunePolicy & { preset: string } {
  const p = spec.image.prune;
  const preset = p?.preset.value ?? "safe";
  let presetGlobs = presets[preset as keyof typeof presets];
  // The pip: list and app.install: pip run the environment's pip at build time.
  const pipNeeded = spec.pip.length > 0 || spec.image.app.install?.value === "pip";
  if (pipNeeded && presetGlobs.some((g) => pipGlobs.includes(g))) {
    presetGlobs = presetGlobs.filter((g) => !pipGlobs.includes(g));
    warnings.push({ message: `image.prune: ${preset} keeps pip in the image, because ${spec.pip.length ? "the pip: list" : "image.app.install: pip"} runs it at build time`, range: p?.preset.range });
  }
  const checked = (globs: Located<string>[], where: string) =>
    globs.flatMap((g) => {
      try {
        globToRegExp(g.value);
        return [g.value];
      } catch (e) {
        if (!(e instanceof GlobError)) throw e;
        problems.push({ message: `image.prune.${where}: ${e.message}`, range: g.range });
        return [];
      }
    });
  return { preset, remove: [...presetGlobs, ...checked(p?.remove ?? [], "remove")], keep: checked(p?.keep ?? [], "keep") };
}

function planConda(spec: EnvironmentSpec, opts: PlanOptions, problems: Problem[], warnings: Problem[]): CondaPlan {
  const specs: Located<MatchSpec>[] = [];
  for (const dep of spec.dependencies) {
    try {
      specs.push({ value: parseMatchSpec(dep.value), range: dep.range });
    } catch (e) {
      if (!(e instanceof MatchSpecError)) throw e;
      problems.push({ message: `dependencies: ${e.message}`, range: dep.range });
    }
  }
  let channels: ResolvedChannel[] = [];
  let channelProblem = false;
  try {
    channels = resolveChannels(spec.channels.map((c) => c.value), opts.buildArgs.CONDA_CHANNEL_ALIAS || undefined);
  } catch (e) {
    if (!(e instanceof ChannelError)) throw e;
    const bad = spec.channels.find((c) => e.message.includes(JSON.stringify(c.value.trim()))) ?? spec.channels[0];
    problems.push({ message: `channels: ${e.message}`, range: bad?.range });
    channelProblem = true;
  }
  if (!channelProblem && specs.length && channels.length === 0 && specs.some((s) => !s.value.channel)) {
    problems.push({ message: "channels: no channel to install from; add e.g. `channels: [conda-forge]`", range: spec.dependencies[0]?.range });
  }
  const overrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.buildArgs)) if (k.startsWith("CONDA_OVERRIDE_")) overrides[k.slice("CONDA_OVERRIDE_".length)] = v;
  const lockfile = planLockfile(spec, opts, problems);
  return {
    specs,
    pip: spec.pip,
    channels,
    channelsRange: spec.channels[0]?.range,
    dependenciesRange: spec.dependencies[0]?.range,
    lockfile,
    virtualPackages: Object.fromEntries(spec.image.virtualPackages.map((v) => [v.key.value, v.value.value])),
    overrides,
    variables: spec.variables.map((v) => [v.key.value, v.value.value]),
    name: spec.name?.value,
    compilePyc: spec.image.compilePyc?.value ?? true,
    postLink: spec.image.postLink ? { value: spec.image.postLink.value, range: spec.image.postLink.range } : { value: "skip" },
    privateChannels: spec.image.privateChannels.map((c) => c.value),
    privateChannelsRange: spec.image.privateChannels[0]?.range,
    prune: planPrune(spec, problems, warnings),
    pipEnv: Object.fromEntries(["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_TRUSTED_HOST"].filter((k) => opts.buildArgs[k] !== undefined).map((k) => [k, opts.buildArgs[k]!])),
  };
}

/** The name of the build context a lock is read from. */
export const lockContextName = "lock";

/**
 * The lock file: LOCKFILE, else image.lockfile, read beside the input file; with
 * --build-context lock=..., the same path (default conda-lock.yml) is read in that context
 * instead, and conda-lock.yml beside the file is not looked at.
 */
function planLockfile(spec: EnvironmentSpec, opts: PlanOptions, problems: Problem[]): CondaPlan["lockfile"] {
  const argLock = opts.buildArgs.LOCKFILE;
  const fileLock = spec.image.lockfile;
  const inContext = Object.hasOwn(contextOptions(opts.raw), lockContextName);
  const lockfile = argLock
    ? { path: argLock, origin: "build arg LOCKFILE", required: true }
    : fileLock
      ? { path: fileLock.value, range: fileLock.range, origin: "image.lockfile", required: true }
      : inContext
        ? { path: conventionalLockName, origin: `build context ${lockContextName}`, required: true }
        : undefined;
  if (!lockfile) return undefined;
  const where = inContext ? `build context ${JSON.stringify(lockContextName)}` : "the input file's folder";
  if (lockfile.path.startsWith("/") || /(^|\/)\.\.(\/|$)/.test(lockfile.path)) {
    problems.push({ message: `${lockfile.origin}: the lock file must be a path inside ${where}, got ${show(lockfile.path)}`, range: lockfile.range });
  }
  return inContext ? { ...lockfile, context: lockContextName } : lockfile;
}

function pick<T>(arg: string | undefined, fromFile: Located<T> | undefined, fallback: T): { value: T | string; range?: SourceRange; origin: string } {
  if (arg !== undefined && arg !== "") return { value: arg, origin: "build arg" };
  if (fromFile) return { value: fromFile.value, range: fromFile.range, origin: "image section" };
  return { value: fallback, origin: "default" };
}

/** The name of the build context that replaces the base image. */
export const baseContextName = "base";

function planBase(opts: PlanOptions, img: EnvironmentSpec["image"], problems: Problem[]): BuildPlan["base"] {
  const fromContext = contextOptions(opts.raw)[baseContextName];
  if (fromContext !== undefined) return baseFromContext(fromContext, opts.buildArgs, problems);
  const choice = pick(opts.buildArgs.BASE_IMAGE, img.base, defaultBase);
  let ref = String(choice.value);
  try {
    ref = normalizeReference(ref);
  } catch (e) {
    problems.push({ message: `image.base (${choice.origin}): ${(e as Error).message}`, range: choice.range });
  }
  return { ref, range: choice.range, origin: choice.origin };
}

/**
 * --build-context base=docker-image://<ref> replaces image.base, as a named context replaces a
 * Dockerfile's FROM. BASE_IMAGE as well is ambiguous (both are the command line's word): an error.
 */
function baseFromContext(value: string, args: Record<string, string>, problems: Problem[]): BuildPlan["base"] {
  const origin = `build context ${baseContextName}`;
  const fail = (message: string) => {
    problems.push({ message });
    return { ref: "", origin, context: baseContextName };
  };
  if (args.BASE_IMAGE) return fail(`image.base: both --build-context ${baseContextName}=... and --build-arg BASE_IMAGE=... name the base image; pass one`);
  let context: NamedContext;
  try {
    context = parseNamedContext(baseContextName, value);
  } catch (e) {
    if (!(e instanceof ContextError)) throw e;
    return fail(`image.base: ${e.message}`);
  }
  if (context.kind === "local") return fail(`image.base: build context "${baseContextName}" is a folder; the base must be an image: --build-context ${baseContextName}=docker-image://<ref> or oci-layout://<folder>`);
  if (context.kind === "oci-layout") return { ref: context.ref, origin, context: baseContextName, ociStore: context.store };
  return { ref: context.ref, origin, context: baseContextName };
}

/** The named contexts the build reads: the lock's, and those app.copy's `from:` entries read: each must have been passed, and be a kind we can copy from. */
function planContexts(copy: AppCopy[], opts: PlanOptions, problems: Problem[]): Record<string, NamedContext> | undefined {
  const given = contextOptions(opts.raw);
  const sessions = localSessionOptions(opts.raw);
  const contexts: Record<string, NamedContext> = {};
  if (Object.hasOwn(given, lockContextName)) {
    try {
      contexts[lockContextName] = parseNamedContext(lockContextName, given[lockContextName]!, sessions);
    } catch (e) {
      if (!(e instanceof ContextError)) throw e;
      problems.push({ message: `the lock: ${e.message}` });
    }
  }
  for (const entry of copy) {
    const name = entry.from;
    if (name === undefined || Object.hasOwn(contexts, name)) continue;
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined) {
      problems.push({ message: `image.app.copy: no build context named ${show(name)}; pass --build-context ${name}=<folder or docker-image://ref>`, range: entry.range });
      continue;
    }
    try {
      contexts[name] = parseNamedContext(name, value, sessions);
    } catch (e) {
      if (!(e instanceof ContextError)) throw e;
      problems.push({ message: `image.app.copy: ${e.message}`, range: entry.range });
    }
  }
  return Object.keys(contexts).length ? contexts : undefined;
}

function planPrefix(args: Record<string, string>, img: EnvironmentSpec["image"], problems: Problem[]): string {
  const choice = pick(args.PREFIX, img.prefix, defaultPrefix);
  const prefix = String(choice.value);
  if (!prefix.startsWith("/") || prefix === "/") problems.push({ message: `image.prefix (${choice.origin}): expected an absolute path other than /, got ${show(prefix)}`, range: choice.range });
  return prefix;
}

/** --platform wins; else image.platforms; else the options' default (the worker's platform). */
function planPlatforms(opts: PlanOptions, img: EnvironmentSpec["image"], problems: Problem[]): PbPlatform[] {
  if ("platform" in opts.raw || !img.platforms.length) return opts.platforms;
  return uniquePlatforms(img.platforms.flatMap((p) => {
    try {
      return [parsePlatform(p.value)];
    } catch (e) {
      problems.push({ message: `image.platforms: ${(e as Error).message}`, range: p.range });
      return [];
    }
  }));
}

/** The image config settings every platform shares; the user's --label wins over image.labels. */
function planImage(img: EnvironmentSpec["image"], opts: PlanOptions, workdir: string): BuildPlan["image"] {
  const labels: Record<string, string> = {};
  for (const l of img.labels) labels[l.key.value] = l.value.value;
  Object.assign(labels, opts.labels);
  const hc = img.healthcheck;
  return {
    env: img.env.map((e) => [e.key.value, e.value.value]),
    entrypoint: img.entrypoint?.value,
    cmd: img.cmd?.value,
    user: img.user?.value ?? defaultUser,
    workdir,
    labels,
    ports: img.ports.map((p) => p.value),
    healthcheck: hc ? { Test: hc.test, Interval: hc.intervalNs, Timeout: hc.timeoutNs, StartPeriod: hc.startPeriodNs, Retries: hc.retries } : undefined,
    stopSignal: img.stopSignal?.value,
  };
}

export function planBuild(spec: EnvironmentSpec, opts: PlanOptions): BuildPlan {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const img = spec.image;

  const target = (opts.target ?? "image") as Target;
  if (!targets.includes(target)) problems.push({ message: `unknown build target ${show(opts.target)}; available targets: ${targets.join(", ")}` });
  const base = planBase(opts, img, problems);
  const contexts = planContexts(img.app.copy, opts, problems);
  const prefix = planPrefix(opts.buildArgs, img, problems);
  const platforms = planPlatforms(opts, img, problems);
  const conda = planConda(spec, opts, problems, warnings);
  if (img.app.install?.value === "pip" && img.app.copy.length === 0) {
    problems.push({ message: "image.app.install: pip needs the app's files: list them in image.app.copy (e.g. [\".\"])", range: img.app.install.range });
  }
  if (problems.length) throw new SpecError(spec.file, problems);

  const workdir = img.workdir?.value ?? defaultWorkdir;
  return {
    target,
    platforms,
    base,
    prefix,
    workdir,
    appCopy: img.app.copy,
    ...(contexts ? { contexts } : {}),
    appInstall: img.app.install?.value === "pip" ? { range: img.app.install.range } : undefined,
    image: planImage(img, opts, workdir),
    conda,
    network: opts.networkMode,
    ignoreCache: opts.noCache === "all" || (Array.isArray(opts.noCache) && opts.noCache.length > 0),
    sourceDateEpoch: opts.sourceDateEpoch,
    sbom: sbomRequested(opts.raw),
    provenanceMax: provenanceMode(opts.raw) === "max",
    warnings,
  };
}

/**
 * The fields of an attestation the client asked for: `attest:<kind>` (buildx --sbom,
 * --provenance; buildctl --opt attest:<kind>=) or the build arg BUILDKIT_ATTEST_<KIND>, as
 * BuildKit's own frontends read them, split at commas and lower-cased; undefined when it was not
 * asked for, or is off (`false`, or `disabled=true` among the fields). An empty value means yes.
 */
function attestationFields(raw: Record<string, string>, kind: "sbom" | "provenance"): string[] | undefined {
  const value = raw[`attest:${kind}`] ?? raw[`build-arg:BUILDKIT_ATTEST_${kind.toUpperCase()}`];
  if (value === undefined) return undefined;
  const fields = value.split(",").map((f) => f.trim().toLowerCase());
  return fields.includes("disabled=true") || fields.includes("false") ? undefined : fields;
}

/** Whether the client asked for an SBOM (see attestationFields). */
export function sbomRequested(raw: Record<string, string>): boolean {
  return attestationFields(raw, "sbom") !== undefined;
}

/**
 * The provenance mode asked for (see attestationFields; buildx asks for mode=min by default where
 * the store keeps attestations), or undefined.
 */
export function provenanceMode(raw: Record<string, string>): "min" | "max" | undefined {
  const fields = attestationFields(raw, "provenance");
  if (!fields) return undefined;
  return fields.includes("mode=max") || fields.includes("max") ? "max" : "min";
}
