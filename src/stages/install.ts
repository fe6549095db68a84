// The install stage: every locked package downloaded by BuildKit (an HTTP source verified and
// cached by its sha256) and linked into the prefix by our own tool in its own exec step, whose
// only inputs are that package's archive (and, for noarch packages, python's). A changed package
// re-runs its own step; the others stay cached. The steps' outputs are stacked as layers in
// dependency order, so where two packages ship the same file, the dependent's wins.
import { compareStrings } from "../compare";
import { authSecretId, authSecretPath, isPrivate } from "../conda/auth";
import type { FetchRequest } from "../conda/fetch-request";
import { historyName } from "../conda/package-url";
import { type InstallRequest, installProcessEnv, installRequestVariable } from "../conda/install-request";
import type { PrunePolicy } from "../conda/prune/rules";
import type { NetworkMode } from "../llb/exec";
import { copyTogether, FileActions, State } from "../llb";
import type { LockedPackage } from "../input/lock";
import type { SourceRange } from "../input/source";
import type { ToolImage } from "../plan/image-plan";
import { toolState } from "./solve";

/**
 * Up to this many packages, each package is a layer of its own. Above, neighbouring packages share
 * a layer (their install steps stay separate), at most maxPackageLayers of them. Images are limited
 * to ~125 layers, and fewer layers are fewer to export.
 */
export const layerPerPackageUpTo = 32;

/**
 * How many layers grouped packages make. Without the merge op (the classic store) every layer
 * above a changed one is copied again, ~60 ms each whatever its size: fewer are better (150
 * packages, one changed: 76 layers 3.3 s, 31 layers 2.95 s, 16 layers 2.7 s; then 16 against 8
 * layers alternating, 8 builds each: medians 3.1 and 2.85 s). With it (the containerd store) a
 * change re-compresses only its own layer, so smaller ones are cheaper there, while unpacking the
 * image re-applies the layers above it: 8 layers measured no faster than 16 (alternating, 5
 * builds each: medians 4.45 and 4.25 s).
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
   * Byte-compile .py files in each package's own step, with the environment's python (its layer
   * mounted at /pyenv). Only possible when the tool runs on the target's platform.
   */
  compilePyc: boolean;
  /** image.prune: paths the install steps never write. */
  prune?: PrunePolicy;
  /** Channel URL prefixes whose packages are fetched with the conda-auth secret. */
  privateChannels: string[];
  /** Network for those fetch steps (BuildKit's own downloads need none of ours). */
  network: NetworkMode;
  /**
   * The daemon downloads with a secret itself (cap source.http.auth, BuildKit v0.21+): private
   * packages are then HTTP sources like the others, sending the conda-auth secret as the
   * Authorization header, instead of fetch steps of ours.
   */
  httpAuth?: boolean;
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

/** A private channel's package on BuildKit before v0.21: fetched in a step that has the secret, verified there. */
function privateFetchStep(input: InstallStageInput, p: LockedPackage, range?: SourceRange): State {
  const request: FetchRequest = { url: p.url, filename: p.filename, sha256: p.sha256, md5: p.md5, out: "/out" };
  const requestFile = State.scratch().file(new FileActions().mkfile("/request.json", JSON.stringify(request), { mode: 0o444, timestamp: 0 }), {
    name: `[download] ${p.name} ${p.version} request`,
  });
  const tool = toolState(input.tool);
  return tool
    .run({
      args: [...input.tool.entrypoint, "fetch", "/in/request.json"],
      network: input.network,
      readonlyRoot: true,
      mounts: [
        { type: "bind", dest: "/in", from: requestFile, readonly: true },
        { type: "bind", dest: "/out", from: State.scratch() },
        { type: "secret", dest: authSecretPath, id: authSecretId },
      ],
      name: `[download] ${p.name} ${p.version} from ${p.url} (private channel)`,
      ignoreCache: input.ignoreCache,
      sourceRanges: range ? [range] : undefined,
    })
    .mount("/out");
}

export function download(p: LockedPackage, range?: SourceRange, opts: { authHeaderSecret?: string } = {}): State {
  return State.http(p.url, {
    checksum: p.sha256 ? `sha256:${p.sha256}` : undefined,
    filename: p.filename,
    name: `[download] ${p.name} ${p.version} from ${p.url}${opts.authHeaderSecret ? " (private channel)" : ""}`,
    sourceRanges: range ? [range] : undefined,
    authHeaderSecret: opts.authHeaderSecret,
  });
}

function privateDownload(input: InstallStageInput, p: LockedPackage, range?: SourceRange): State {
  return input.httpAuth ? download(p, range, { authHeaderSecret: authSecretId }) : privateFetchStep(input, p, range);
}

interface PackageStep {
  layer: State;
  report: State;
}

function packageStep(input: InstallStageInput, p: LockedPackage, python: LockedPackage | undefined, pythonLayer: State | undefined): PackageStep {
  const isPython = p.name === "python";
  const compile = input.compilePyc && python !== undefined;
  // noarch packages need python's version to be placed; compiled ones to be byte-compiled.
  const needsPython = !isPython && python !== undefined && (isNoarch(p) || compile);
  const mountPyenv = compile && !isPython && pythonLayer !== undefined;
  const request: InstallRequest = {
    archive: `/pkg/${p.filename}`,
    url: p.url,
    filename: p.filename,
    name: p.name,
    version: p.version,
    build: p.build,
    md5: p.md5,
    sha256: p.sha256,
    prefix: input.prefix,
    outRoot: "/out",
    pythonArchive: needsPython ? `/python/${python.filename}` : undefined,
    requestedSpec: input.requested[p.name],
    epoch: input.sourceDateEpoch,
    compilePycWith: compile ? (isPython ? "/out" : mountPyenv ? "/pyenv" : undefined) : undefined,
    ...(input.prune && input.prune.remove.length ? { prune: input.prune } : {}),
    report: `/report/${p.name}.json`,
  };
  const range = input.sourceRange?.(p.name);
  const fetchPackage = (x: LockedPackage, r?: SourceRange) => (isPrivate(x.url, input.privateChannels) ? privateDownload(input, x, r) : download(x, r));
  const tool = toolState(input.tool);
  const exec = tool.run({
    // The request in a variable rather than a file: one vertex less per package to check and
    // cache. The args (which BuildKit writes into the image's history) only name the package.
    args: [...input.tool.entrypoint, "install", "--request-env", p.filename],
    env: { ...installProcessEnv, [installRequestVariable]: JSON.stringify(request) },
    network: "none",
    // Our tool writes only to /out, /report and /tmp: no root layer to make and commit.
    readonlyRoot: true,
    mounts: [
      { type: "bind", dest: "/pkg", from: fetchPackage(p, range), readonly: true },
      ...(needsPython ? [{ type: "bind" as const, dest: "/python", from: fetchPackage(python), readonly: true }] : []),
      ...(mountPyenv ? [{ type: "bind" as const, dest: "/pyenv", from: pythonLayer, readonly: true }] : []),
      { type: "bind", dest: "/out", from: State.scratch() },
      { type: "bind", dest: "/report", from: State.scratch() },
      { type: "tmpfs", dest: "/tmp" },
    ],
    name: `[install] ${p.name} ${p.version}-${p.build}`,
    ignoreCache: input.ignoreCache,
    sourceRanges: range ? [range] : undefined,
  });
  return { layer: exec.mount("/out"), report: exec.mount("/report") };
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
  const date = new Date(time * 1000).toISOString().replace("T", " ").slice(0, 19);
  const linked = packages.map((p) => `+${historyName(p)}`).sort();
  return `==> ${date} <==\n# cmd: conda-frontend install\n# conda version: conda-frontend\n${linked.join("\n")}\n# update specs: ${pythonList(specs)}\n`;
}

interface Layer {
  /** The package names in it. */
  names: string[];
  state: State;
}

/** One layer of consecutive packages: their steps' outputs copied onto each other. */
function groupLayer(chunk: Layer[]): Layer {
  const names = chunk.flatMap((c) => c.names);
  return { names, state: copyTogether(chunk.map((c) => c.state), { name: `[install] layer of ${names.join(", ")}` }) };
}

/**
 * Packages in consecutive runs, when there are more than layerPerPackageUpTo. Python keeps a
 * layer of its own: the largest package of most environments, which a change of a neighbour
 * would otherwise copy again (CPython and its .pyc: ~40 MB, 250-400 ms on the classic store).
 */
function group(layers: Layer[], mergeOp: boolean): Layer[] {
  if (layers.length <= layerPerPackageUpTo) return layers;
  const size = Math.ceil(layers.length / maxPackageLayers(mergeOp));
  const out: Layer[] = [];
  let chunk: Layer[] = [];
  const flush = () => {
    if (chunk.length) out.push(groupLayer(chunk));
    chunk = [];
  };
  for (const l of layers) {
    if (l.names[0] === "python") {
      flush();
      out.push(l);
      continue;
    }
    chunk.push(l);
    if (chunk.length === size) flush();
  }
  flush();
  return out;
}

export function installStage(input: InstallStageInput): InstallStage {
  const order = installOrder(input.packages);
  const python = input.packages.find((p) => p.name === "python");
  const pythonStep = python ? packageStep(input, python, python, undefined) : undefined;
  const steps = order.map((p) => ({ p, step: p === python ? pythonStep! : packageStep(input, p, python, pythonStep?.layer) }));
  const grouped = group(steps.map((s) => ({ names: [s.p.name], state: s.step.layer })), input.mergeOp ?? true);
  const byName = new Map(order.map((p) => [p.name, p]));
  const describe = (l: Layer) => `conda-frontend: install ${l.names.map((n) => { const p = byName.get(n)!; return `${p.name} ${p.version}-${p.build}`; }).join(", ")} into ${input.prefix}`;
  return {
    layers: [...grouped.map((l) => l.state), environmentRecords(input, order)],
    history: [...grouped.map(describe), `conda-frontend: ${input.prefix}/conda-meta/history${input.variables.length ? " and state" : ""}`],
    order: order.map((p) => p.name),
    reports: steps.map((s) => s.step.report),
  };
}
