// The install stage: the locked packages linked into the prefix by our own tool, in exec steps
// of one package each (or, in a large environment, of a run of neighbouring packages). A step
// downloads its packages itself, a few at a time and retried (BuildKit's HTTP source opens every
// download at once and never retries), into a cache mount every step shares, verifies them
// against the lock, and installs them one after the other into its layer. A changed package re-runs its own
// step; the others stay cached. Layers stack in dependency order, so where two packages ship the
// same file, the dependent's wins. With --provenance, public packages are BuildKit HTTP sources
// mounted into the steps instead, so that provenance lists each download.
import { compareStrings } from "../compare";
import { authSecretId, authSecretPath, isPrivate } from "../conda/auth";
import { historyName } from "../conda/package-url";
import { archiveCachePath, groupRequestVariable, type InstallGroupRequest, type InstallRequest, installProcessEnv, type PackageDownload } from "../conda/install-request";
import type { PrunePolicy } from "../conda/prune/rules";
import type { NetworkMode } from "../llb/exec";
import { copyTogether, FileActions, State } from "../llb";
import type { LockedPackage } from "../input/lock";
import type { SourceRange } from "../input/source";
import type { ToolImage } from "../plan/image-plan";
import { toolState } from "./solve";
import { utcIso } from "../utc-time";

/**
 * Up to this many packages, each package is a step and a layer of its own. Above, neighbouring
 * packages share a step (about installSteps of them), and neighbouring steps a layer (about
 * maxPackageLayers of them). Images are limited to ~125 layers, and fewer layers are fewer to
 * export.
 */
export const layerPerPackageUpTo = 32;

/**
 * About how many install steps a large environment makes: each step's container start and cache
 * lookup are paid once per run of packages (a cold build of 1000 tiny packages in single steps
 * took 5 minutes), while a changed package re-installs its whole run (~5 packages of 150).
 */
export const installSteps = 32;

/**
 * About how many install steps a foreign platform's packages make (python's own, and those the
 * build machine's steps install, apart). A platform the build machine does not run is built for
 * shipping, mostly in CI, cold or from a remote cache, where each step's container start is paid
 * on every build; rebuilding it package by package matters less than on the machine's own
 * platform, which keeps a step per package.
 */
export const foreignInstallSteps = 4;

/**
 * About how many layers the steps of a large environment make. Without the merge op (the classic
 * store) every layer above a changed one is copied again, ~60 ms each whatever its size: fewer are
 * better (150 packages, one changed: 76 layers 3.3 s, 31 layers 2.95 s, 16 layers 2.7 s; then 16
 * against 8 layers alternating, 8 builds each: medians 3.1 and 2.85 s). With it (the containerd
 * store) a change re-compresses only its own layer, so smaller ones are cheaper there, while
 * unpacking the image re-applies the layers above it: 8 layers measured no faster than 16
 * (alternating, 5 builds each: medians 4.45 and 4.25 s).
 */
export function maxPackageLayers(mergeOp: boolean): number {
  return mergeOp ? 16 : 8;
}

export interface InstallStageInput {
  tool: ToolImage;
  /** The platform's conda packages from the lock (no virtual packages). */
  packages: LockedPackage[];
  prefix: string;
  /** The user's specs by package name, recorded as requested_spec. */
  requested: Record<string, string>;
  /** `variables:` of environment.yml, for conda-meta/state. */
  variables: [string, string][];
  environmentName?: string;
  sourceDateEpoch?: number;
  ignoreCache: boolean;
  /**
   * Byte-compile .py files in each package's step, with the environment's python (its layer
   * mounted at /pyenv). Only possible when the tool runs on the target's platform.
   */
  compilePyc: boolean;
  /**
   * A python package of the target's version for the build machine, its step's layer (a foreign
   * platform's .pyc): it compiles every package's files, python's own too, mounted at /pyenv.
   */
  pycCompiler?: State;
  /**
   * A foreign platform's environment built together with the build machine's (whose python is the
   * compiler): that environment's install input. A noarch package both have, each in a step of its
   * own, is then installed by the very step of the build machine's image (same files: the same
   * python version places and compiles it), which BuildKit runs once for both platforms.
   */
  native?: InstallStageInput;
  /** image.prune: paths the install steps never write. */
  prune?: PrunePolicy;
  /** Channel URL prefixes whose packages are fetched with the conda-auth secret. */
  privateChannels: string[];
  /** Network for the steps' downloads (--network). */
  network: NetworkMode;
  /**
   * --provenance: public packages are BuildKit HTTP sources mounted into the steps (provenance
   * lists those as materials), downloaded by BuildKit all at once and without retries.
   */
  provenance?: boolean;
  /** A platform the build machine does not run: its packages are grouped into about foreignInstallSteps steps. */
  foreign?: boolean;
  /** Whether the daemon stacks layers with the merge op (else they are copied): sets how packages are grouped. */
  mergeOp?: boolean;
  /** Where in environment.yml a package comes from (its spec, or the dependencies list). */
  sourceRange?: (name: string) => SourceRange | undefined;
}

export interface InstallStage {
  /** Layers bottom to top: packages in dependency order, then the environment's own records. */
  layers: State[];
  /** What each layer holds, for the image's history (`docker history`), in the same order. */
  history: string[];
  /** Package names in the order their layers stack. */
  order: string[];
  /** Each install step's report (prune/report.ts: sizes, what activation reads), as `/<name>.json`; never part of the image. */
  reports: State[];
}

/** Dependencies before dependents; among packages that do not depend on each other, by name. */
export function installOrder(packages: LockedPackage[]): LockedPackage[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const sorted = [...packages].sort((a, b) => compareStrings(a.name, b.name));
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const out: LockedPackage[] = [];
  const visit = (p: LockedPackage) => {
    if (placed.has(p.name) || visiting.has(p.name)) return; // a cycle is broken where it closes
    visiting.add(p.name);
    for (const dep of Object.keys(p.dependencies).sort()) {
      const d = byName.get(dep);
      if (d) visit(d);
    }
    visiting.delete(p.name);
    placed.add(p.name);
    out.push(p);
  };
  for (const p of sorted) visit(p);
  return out;
}

/** A package of a channel's noarch subdir (placed by the environment's python if noarch: python). */
export function isNoarch(p: LockedPackage): boolean {
  return /\/noarch\/[^/]+$/.test(new URL(p.url).pathname);
}

export function download(p: LockedPackage, range?: SourceRange): State {
  return State.http(p.url, {
    checksum: p.sha256 ? `sha256:${p.sha256}` : undefined,
    filename: p.filename,
    name: `[download] ${p.name} ${p.version} from ${p.url}`,
    sourceRanges: range ? [range] : undefined,
  });
}

/** The cache mount the install steps keep downloaded archives in, shared by every step and build. */
export const packageCache = { id: "conda-frontend-packages", dest: "/var/cache/conda-frontend/pkgs" };

/** Requests up to this many bytes go to the step in a variable, longer ones in a file. */
export const requestInVariableUpTo = 32 * 1024;

/** Downloads at once in one step: a few, so that a channel server is not asked for hundreds at once. */
export const downloadsAtOnce = 4;
/** Tries per archive (retried on a reset connection, 429, 5xx, a short or corrupt transfer). */
export const downloadTries = 5;

interface PackageStep {
  layer: State;
  report: State;
}

/** Where a step finds a package's archive: downloaded into the cache, or an HTTP source mounted at /http/<i>. */
interface ArchivePlace {
  path: string;
  download?: PackageDownload;
  mount?: { dest: string; from: State };
}

function archivePlace(input: InstallStageInput, p: LockedPackage, i: number, range?: SourceRange): ArchivePlace {
  const isPrivateChannel = isPrivate(p.url, input.privateChannels);
  if (input.provenance && !isPrivateChannel) {
    const dest = `/http/${i}`;
    return { path: `${dest}/${p.filename}`, mount: { dest, from: download(p, range) } };
  }
  const d: PackageDownload = { url: p.url, filename: p.filename, sha256: p.sha256, md5: p.md5, ...(isPrivateChannel ? { private: true } : {}) };
  return { path: archiveCachePath(packageCache.dest, d), download: d };
}

/**
 * What a group's step is asked to do: each member's install request, in order, and where each
 * archive comes from (the step downloads it, or BuildKit's HTTP source is mounted).
 */
function groupRequest(input: InstallStageInput, members: LockedPackage[], python: LockedPackage | undefined, pythonLayer: State | undefined): { request: InstallGroupRequest; places: ArchivePlace[] } {
  // Each archive once (python's is asked for by every noarch member), by URL.
  const byUrl = new Map<string, ArchivePlace>();
  const place = (p: LockedPackage, range?: SourceRange) => {
    const found = byUrl.get(p.url);
    if (found) return found;
    const made = archivePlace(input, p, byUrl.size, range);
    byUrl.set(p.url, made);
    return made;
  };
  const compileFor = (p: LockedPackage) => input.compilePyc && python !== undefined && (p.name === "python" || pythonLayer !== undefined || input.pycCompiler !== undefined);
  const compiler = (p: LockedPackage) => (p.name === "python" && !input.pycCompiler ? "/out" : "/pyenv");
  const requests: InstallRequest[] = members.map((p) => {
    const isPython = p.name === "python";
    // noarch packages need python's version to be placed; compiled ones to be byte-compiled.
    const needsPython = !isPython && python !== undefined && (isNoarch(p) || compileFor(p));
    return {
      archive: place(p, input.sourceRange?.(p.name)).path,
      url: p.url,
      filename: p.filename,
      name: p.name,
      version: p.version,
      build: p.build,
      md5: p.md5,
      sha256: p.sha256,
      prefix: input.prefix,
      outRoot: "/out",
      pythonArchive: needsPython ? place(python).path : undefined,
      requestedSpec: input.requested[p.name],
      epoch: input.sourceDateEpoch,
      compilePycWith: compileFor(p) ? compiler(p) : undefined,
      ...(input.prune && input.prune.remove.length ? { prune: input.prune } : {}),
      report: `/report/${p.name}.json`,
    };
  });
  const places = [...byUrl.values()];
  const downloads = places.flatMap((x) => (x.download ? [x.download] : []));
  return { request: { cache: packageCache.dest, downloads, packages: requests, parallel: downloadsAtOnce, attempts: downloadTries }, places };
}

/**
 * One step for a group of packages: download what it needs, then install each into the step's
 * /out (one layer) and write each one's report. Its inputs are our image, the request when it is
 * a file, python's layer when it compiles, and, with --provenance, the HTTP sources of its archives.
 */
function groupStep(input: InstallStageInput, members: LockedPackage[], python: LockedPackage | undefined, pythonLayer: State | undefined): PackageStep {
  const { request, places } = groupRequest(input, members, python, pythonLayer);
  const label = members.length === 1 ? `${members[0]!.name} ${members[0]!.version}-${members[0]!.build}` : `${members.length} packages: ${members.map((p) => p.name).join(", ")}`;
  // The request in a variable: one vertex less per step to load and cache-check on every build.
  // One too long for a variable (the kernel takes at most 128 KiB per string) is a file.
  const text = JSON.stringify(request);
  const inVariable = Buffer.byteLength(text) <= requestInVariableUpTo;
  const requestFile = inVariable ? undefined : State.scratch().file(new FileActions().mkfile("/request.json", text, { mode: 0o444, timestamp: 0 }), { name: `[install] request for ${label}` });
  const mountPyenv = request.packages.some((r) => r.compilePycWith === "/pyenv");
  const ranges = members.flatMap((p) => input.sourceRange?.(p.name) ?? []);
  const tool = toolState(input.tool);
  const exec = tool.run({
    args: [...input.tool.entrypoint, "install", "--group", inVariable ? `$${groupRequestVariable}` : "/in/request.json"],
    env: { ...installProcessEnv, ...(inVariable ? { [groupRequestVariable]: text } : {}) },
    // Only downloads use the network; with --provenance and no private package, BuildKit did them.
    network: request.downloads.length ? input.network : "none",
    // Our tool writes only to /out, /report, /tmp and the cache: no root layer to make and commit.
    readonlyRoot: true,
    mounts: [
      ...(requestFile ? [{ type: "bind" as const, dest: "/in", from: requestFile, readonly: true }] : []),
      // Content caching off: an archive's download is named by its checksum, python's layer by the step that made it.
      ...places.flatMap((x) => (x.mount ? [{ type: "bind" as const, dest: x.mount.dest, from: x.mount.from, readonly: true, contentCache: "off" as const }] : [])),
      ...(mountPyenv ? [{ type: "bind" as const, dest: "/pyenv", from: (input.pycCompiler ?? pythonLayer)!, readonly: true, contentCache: "off" as const }] : []),
      ...(request.downloads.length ? [{ type: "cache" as const, dest: packageCache.dest, id: packageCache.id, sharing: "shared" as const }] : []),
      ...(request.downloads.some((d) => d.private) ? [{ type: "secret" as const, dest: authSecretPath, id: authSecretId }] : []),
      { type: "bind", dest: "/out", from: State.scratch() },
      { type: "bind", dest: "/report", from: State.scratch() },
      { type: "tmpfs", dest: "/tmp" },
    ],
    name: `[install] ${label}`,
    ignoreCache: input.ignoreCache,
    sourceRanges: ranges.length ? dedupeRanges(ranges) : undefined,
  });
  return { layer: exec.mount("/out"), report: exec.mount("/report") };
}

function dedupeRanges(ranges: SourceRange[]): SourceRange[] {
  const seen = new Set<string>();
  return ranges.filter((r) => {
    const key = JSON.stringify(r);
    return !seen.has(key) && (seen.add(key), true);
  });
}

/**
 * conda-meta/history (what makes a folder a conda environment) and conda-meta/state, made in one
 * state and then copied onto scratch with the build's time. BuildKit's mkdir times only the last
 * folder it makes (making a folder, or a file in it, moves its parent's time), so the folders on
 * the way to the prefix would carry the time of the build; a copy with a timestamp sets each
 * folder's time once its contents are in.
 */
function environmentRecords(input: InstallStageInput, order: LockedPackage[]): State {
  const time = input.sourceDateEpoch ?? 0;
  const history = historyText(time, order, Object.values(input.requested));
  let actions = new FileActions()
    .mkdir(`${input.prefix}/conda-meta`, { parents: true, timestamp: time })
    .mkfile(`${input.prefix}/conda-meta/history`, history, { timestamp: time });
  if (input.variables.length) {
    const state = { env_vars: Object.fromEntries(input.variables) };
    actions = actions.mkfile(`${input.prefix}/conda-meta/state`, JSON.stringify(state, null, 2) + "\n", { timestamp: time });
  }
  const name = `[install] conda-meta/history${input.variables.length ? " and state" : ""}`;
  const records = State.scratch().file(actions, { name });
  return State.scratch().copy(records, "/", "/", { contents: true, timestamp: time }, { name: `${name}, dated` });
}

/** A Python list of strings, as conda writes specs into its history (read back with literal_eval). */
function pythonList(items: string[]): string {
  return `[${items.map((i) => `'${i.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`).join(", ")}]`;
}

/**
 * conda-meta/history as conda writes one transaction: the packages linked, sorted, as
 * channel/subdir::name-version-build, then the specs asked for. conda compares these lines with
 * the records to know what changed; lines it cannot match make it rewrite every package.
 */
export function historyText(time: number, packages: LockedPackage[], specs: string[]): string {
  const date = utcIso(time).replace("T", " ").slice(0, 19);
  const linked = packages.map((p) => `+${historyName(p)}`).sort();
  return `==> ${date} <==\n# cmd: conda-frontend install\n# conda version: conda-frontend\n${linked.join("\n")}\n# update specs: ${pythonList(specs)}\n`;
}

/** FNV-1a of a name: where content-defined run boundaries fall (stable across runs and machines). */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Items in runs of neighbours of about `size`, in order. A run ends after an item whose name's
 * hash is the last of `size` values (or at twice the size): where runs end depends on the
 * names around, not on positions, so an item added or removed changes only its own run, not every
 * run after it. An item `alone` says so is a run of its own.
 */
function runs<T>(items: T[], size: number, hash: (item: T) => number, alone: (item: T) => boolean): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  const close = () => {
    if (run.length) out.push(run);
    run = [];
  };
  for (const item of items) {
    if (alone(item)) {
      close();
      out.push([item]);
      continue;
    }
    run.push(item);
    if (hash(item) % size === size - 1 || run.length >= 2 * size) close();
  }
  close();
  return out;
}

const isPython = (p: LockedPackage) => p.name === "python";

/**
 * Packages in install steps, in install order: one each up to layerPerPackageUpTo packages, else
 * runs of about n / installSteps; a foreign platform's always in runs of about n /
 * foreignInstallSteps. Python is always a step of its own: the largest package of most
 * environments, and the others compile with it; so is a package `alone` says is.
 */
export function installGroups(order: LockedPackage[], opts: { foreign?: boolean; alone?: (p: LockedPackage) => boolean } = {}): LockedPackage[][] {
  const alone = (p: LockedPackage) => isPython(p) || (opts.alone?.(p) ?? false);
  if (opts.foreign) {
    const grouped = order.filter((p) => !alone(p)).length;
    return runs(order, Math.max(1, Math.ceil(grouped / foreignInstallSteps)), (p) => nameHash(p.name), alone);
  }
  if (order.length <= layerPerPackageUpTo) return order.map((p) => [p]);
  return runs(order, Math.ceil(order.length / installSteps), (p) => nameHash(p.name), alone);
}

/**
 * Steps in layers: one each up to layerPerPackageUpTo packages, else runs of steps (named by
 * their last package) of about steps / maxPackageLayers, python's alone, so that a change next to
 * it does not copy CPython again.
 */
export function layerGroups(groups: LockedPackage[][], mergeOp: boolean): LockedPackage[][][] {
  if (groups.flat().length <= layerPerPackageUpTo || groups.length <= maxPackageLayers(mergeOp)) return groups.map((g) => [g]);
  // The hash's high half: its low bits already decided where the steps end.
  return runs(groups, Math.ceil(groups.length / maxPackageLayers(mergeOp)), (g) => nameHash(g.at(-1)!.name) >>> 16, (g) => g.some(isPython));
}

/**
 * For a foreign platform built with the build machine's (input.native): the noarch packages both
 * environments have that the build machine's installs each in a step of its own, and that step
 * for one of them. The same python version places and compiles a noarch package's files alike,
 * so BuildKit runs the step once for both platforms. Undefined when nothing is shared.
 */
function sharedNoarch(input: InstallStageInput): { shared: (p: LockedPackage) => boolean; step: (p: LockedPackage) => PackageStep } | undefined {
  const native = input.native;
  const nativePython = native?.packages.find(isPython);
  const python = input.packages.find(isPython);
  if (!native || !nativePython || !python || nativePython.version !== python.version) return undefined;
  const alone = new Set(installGroups(installOrder(native.packages), { foreign: native.foreign }).flatMap((g) => (g.length === 1 ? [g[0]!.url] : [])));
  const nativePythonLayer = pythonLayer(native); // made once, not once per shared package
  return {
    shared: (p) => isNoarch(p) && alone.has(p.url),
    step: (p) => groupStep(native, [p], nativePython, nativePythonLayer),
  };
}

/** A layer of several steps: their outputs copied onto each other, in order. */
function layerOf(steps: PackageStep[], members: LockedPackage[]): State {
  if (steps.length === 1) return steps[0]!.layer;
  return copyTogether(steps.map((s) => s.layer), { name: `[install] layer of ${members.map((p) => p.name).join(", ")}` });
}

/** python's own step in an install: a step of its own, which the environment's other steps compile with. */
function pythonStepOf(input: InstallStageInput): PackageStep | undefined {
  const python = input.packages.find(isPython);
  return python ? groupStep(input, [python], python, undefined) : undefined;
}

/** python's own step's layer in an install (what the environment's other steps compile with); undefined without python. */
export function pythonLayer(input: InstallStageInput): State | undefined {
  return pythonStepOf(input)?.layer;
}

export function installStage(input: InstallStageInput): InstallStage {
  const order = installOrder(input.packages);
  const python = input.packages.find(isPython);
  const pythonStep = pythonStepOf(input);
  const shared = sharedNoarch(input);
  const groups = installGroups(order, { foreign: input.foreign, alone: shared?.shared });
  const stepOf = (members: LockedPackage[]) => (members[0] === python ? pythonStep! : shared && members.length === 1 && shared.shared(members[0]!) ? shared.step(members[0]!) : groupStep(input, members, python, pythonStep?.layer));
  const steps = new Map(groups.map((members) => [members, stepOf(members)]));
  const layers = layerGroups(groups, input.mergeOp ?? true);
  const describe = (members: LockedPackage[]) => `conda-frontend: install ${members.map((p) => `${p.name} ${p.version}-${p.build}`).join(", ")} into ${input.prefix}`;
  return {
    layers: [...layers.map((l) => layerOf(l.map((g) => steps.get(g)!), l.flat())), environmentRecords(input, order)],
    history: [...layers.map((l) => describe(l.flat())), `conda-frontend: ${input.prefix}/conda-meta/history${input.variables.length ? " and state" : ""}`],
    order: order.map((p) => p.name),
    reports: [...steps.values()].map((s) => s.report),
  };
}
