// The checks `docker buildx build --call check` (and `--check`) runs on an environment.yml: things
// that build today but are likely mistakes, and the input errors a build would stop at, each under
// a rule with a name, a description and a README anchor. Pure: the lock, if any, is read by the
// caller (src/frontend/subrequests.ts) and handed in as text.
import { ChannelError, resolveChannel } from "../conda/channels";
import { type MatchSpec, parseMatchSpec } from "../conda/matchspec";
import { subdirOf } from "../conda/virtual-packages";
import type { EnvironmentSpec } from "../input/environment";
import { parseInputSpec, readAnyLock } from "../input/input-spec";
import { type Problem, SpecError } from "../input/errors";
import type { Lock } from "../input/lock";
import type { Located, SourceRange } from "../input/source";
import { lockProblems } from "./lock-check";
import { type BuildPlan, planBuild, type PlanOptions } from "./plan";

export interface LintRule {
  name: string;
  description: string;
  url: string;
}

export interface LintWarning {
  rule: LintRule;
  detail: string;
  /** Where in the input file; none for a finding about the file as a whole. */
  ranges: SourceRange[];
}

export interface LintReport {
  warnings: LintWarning[];
  /** Set when the file cannot be built at all (it does not parse, or cannot be planned). */
  buildError?: { message: string; range?: SourceRange };
}

/** The README's "Lint rules" section: one heading per rule, whose anchor is the rule name in lower case. */
export const rulesUrl = "https://github.com/org/conda-frontend";
const rule = (name: string, description: string): LintRule => ({ name, description, url: `${rulesUrl}#${name.toLowerCase()}` });

export const rules = {
  unpinnedWithoutLock: rule("UnpinnedWithoutLock", "Without a lock file, a dependency with no version gives a different image whenever a new release appears"),
  defaultsChannel: rule("DefaultsChannel", "The defaults channel needs Anaconda's terms of service and cannot be built from"),
  invalidChannel: rule("InvalidChannel", "A channel must be a name or an http(s) URL"),
  pipWithoutPip: rule("PipWithoutPip", "A pip: list is installed by the environment's pip, so pip must be among the dependencies"),
  duplicatePackage: rule("DuplicatePackage", "A package listed twice: the second entry adds nothing or narrows the first"),
  conflictingPins: rule("ConflictingPins", "The same package pinned to two versions that no release can satisfy together"),
  staleLock: rule("StaleLock", "The lock file was made from a different environment.yml and the build would refuse it"),
  unreadableLock: rule("UnreadableLock", "The lock file named or found beside the input cannot be read"),
  unknownKey: rule("UnknownKey", "A key this frontend does not know: the build stops at it"),
  ignoredPrefix: rule("IgnoredPrefix", "The top-level prefix: (written by conda env export) is ignored; image.prefix decides where the environment goes"),
} as const;

export const allRules: LintRule[] = Object.values(rules);

/** The lock the build would use: its name and text, or that a named one is missing. */
export interface LintLock {
  fileName: string;
  text?: string;
  /** Where the file names it (image.lockfile), for a finding about it. */
  range?: SourceRange;
}

export function lint(fileName: string, text: string, opts: PlanOptions, lock?: LintLock): LintReport {
  let spec: EnvironmentSpec;
  try {
    spec = parseInputSpec(fileName, text, opts.buildArgs);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return { warnings: unknownKeys(e.problems), buildError: firstProblem(e) };
  }
  const warnings = [...channelFindings(spec), ...dependencyFindings(spec, lock !== undefined), ...pipFindings(spec), ...ignoredPrefix(text)];
  const planned = tryPlan(spec, opts);
  if (lock && planned.plan) warnings.push(...lockFindings(planned.plan, lock, fileName, opts.buildArgs));
  return planned.error ? { warnings, buildError: planned.error } : { warnings };
}

function firstProblem(e: SpecError): LintReport["buildError"] {
  const first = e.problems[0];
  return { message: SpecError.format(e.file.name, first ? [first] : []), range: first?.range };
}

/** An unknown key stops the parse; it is reported both as the build error and under its rule. */
function unknownKeys(problems: Problem[]): LintWarning[] {
  return problems.filter((p) => / unknown key /.test(p.message)).map((p) => ({ rule: rules.unknownKey, detail: p.message, ranges: p.range ? [p.range] : [] }));
}

/**
 * The plan decides what the lint rules leave to it (platforms, prefixes, targets). Its channel
 * problems are already findings of their own, so they do not make a build error here.
 */
function tryPlan(spec: EnvironmentSpec, opts: PlanOptions): { plan?: BuildPlan; error?: LintReport["buildError"] } {
  try {
    return { plan: planBuild(spec, opts) };
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const rest = e.problems.filter((p) => !p.message.startsWith("channels: "));
    return rest.length ? { error: firstProblem(new SpecError(e.file, rest)) } : {};
  }
}

/** The words a build's error would use (src/conda/channels.ts), so lint and build agree. */
function channelFindings(spec: EnvironmentSpec): LintWarning[] {
  return spec.channels.flatMap((c) => {
    if (c.value.trim() === "nodefaults") return [];
    try {
      resolveChannel(c.value);
      return [];
    } catch (e) {
      if (!(e instanceof ChannelError)) throw e;
      const r = c.value.trim() === "defaults" ? rules.defaultsChannel : rules.invalidChannel;
      return [{ rule: r, detail: `channels: ${e.message}`, ranges: [c.range] }];
    }
  });
}

interface Dependency {
  spec: MatchSpec;
  range: SourceRange;
  /** The version constraint as written after the name, without [options]; "" when there is none. */
  version: string;
}

function parsedDependencies(spec: EnvironmentSpec): Dependency[] {
  return spec.dependencies.flatMap((d) => {
    try {
      const parsed = parseMatchSpec(d.value);
      return [{ spec: parsed, range: d.range, version: versionPart(parsed) }];
    } catch {
      return []; // a malformed spec is the plan's error, reported as the build error
    }
  });
}

function versionPart(spec: MatchSpec): string {
  return spec.solverSpec.slice(spec.name.length).replace(/\[.*\]$/, "").trim();
}

function dependencyFindings(spec: EnvironmentSpec, hasLock: boolean): LintWarning[] {
  const deps = parsedDependencies(spec);
  const out: LintWarning[] = [];
  if (!hasLock) {
    for (const d of deps) {
      if (d.version === "" && !/\[.*version\s*=/.test(d.spec.solverSpec)) out.push({ rule: rules.unpinnedWithoutLock, detail: `dependencies: ${d.spec.name} has no version and there is no lock file; pin it (e.g. ${d.spec.name}=1.2) or build from a lock (--target lock)`, ranges: [d.range] });
    }
  }
  out.push(...repeated(deps.map((d) => ({ name: d.spec.name.toLowerCase(), version: d.version, range: d.range })), "dependencies"));
  return out;
}

/** Names are compared as pip does: case and the -_. separators do not matter. */
const pipName = (req: string) => (/^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(req)?.[1] ?? req).toLowerCase().replace(/[-_.]+/g, "-");

function pipFindings(spec: EnvironmentSpec): LintWarning[] {
  if (!spec.pip.length) return [];
  const out: LintWarning[] = [];
  const hasPip = parsedDependencies(spec).some((d) => d.spec.name === "pip");
  if (!hasPip) out.push({ rule: rules.pipWithoutPip, detail: "dependencies: the pip: list needs pip in the environment; add `- pip` to dependencies", ranges: [spec.pip[0]!.range] });
  const entries = spec.pip.map((p: Located<string>) => ({ name: pipName(p.value), version: "", range: p.range }));
  out.push(...repeated(entries, "dependencies.pip"));
  return out;
}

/** Second and later entries of a name: a conflict when both pin versions that cannot meet, else a duplicate. */
function repeated(entries: { name: string; version: string; range: SourceRange }[], where: string): LintWarning[] {
  const out: LintWarning[] = [];
  entries.forEach((e, i) => {
    const first = entries.slice(0, i).find((f) => f.name === e.name);
    if (!first) return;
    const line = first.range.start.line;
    if (pinsConflict(first.version, e.version)) {
      out.push({ rule: rules.conflictingPins, detail: `${where}: ${e.name} is pinned to ${e.version} here and to ${first.version} on line ${line}`, ranges: [e.range, first.range] });
    } else {
      out.push({ rule: rules.duplicatePackage, detail: `${where}: ${e.name} is already listed on line ${line}; keep one entry`, ranges: [e.range, first.range] });
    }
  });
  return out;
}

/** `=1.2`, `==1.2.3`, `1.2`, `1.2.*`: the version a plain pin names, or undefined for ranges and the like. */
function pinnedVersion(version: string): string | undefined {
  const m = /^(?:==?)?\s*([A-Za-z0-9_.+!]+?)(?:\.\*)?$/.exec(version.trim());
  return m ? m[1] : undefined;
}

/** Two pins meet when one is the other or a release of it (`3.12` and `3.12.4`). */
export function pinsConflict(a: string, b: string): boolean {
  const pa = pinnedVersion(a);
  const pb = pinnedVersion(b);
  if (pa === undefined || pb === undefined) return false;
  return !(pa === pb || pa.startsWith(`${pb}.`) || pb.startsWith(`${pa}.`));
}

function ignoredPrefix(text: string): LintWarning[] {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => /^prefix\s*:/.test(l));
  if (i < 0) return [];
  const line = i + 1;
  return [{ rule: rules.ignoredPrefix, detail: "prefix: is ignored (it is the exporting machine's path); set image.prefix to choose where the environment is installed", ranges: [{ start: { line, character: 0 }, end: { line, character: lines[i]!.length } }] }];
}

/** The check a build makes of its lock (plan/lock-check.ts), reported instead of refused. */
function lockFindings(plan: BuildPlan, given: LintLock, inputName: string, buildArgs: Record<string, string>): LintWarning[] {
  if (given.text === undefined) {
    return [{ rule: rules.unreadableLock, detail: `cannot find the lock file ${JSON.stringify(given.fileName)} beside the input file`, ranges: given.range ? [given.range] : [] }];
  }
  let lock: Lock;
  try {
    // An @EXPLICIT list names no platform: the build's single platform is its platform, as in a build.
    lock = readAnyLock(given.fileName, given.text, plan.platforms.map((p) => subdirOf(p)), buildArgs);
  } catch (e) {
    return [{ rule: rules.unreadableLock, detail: (e as Error).message.split("\n")[0]!, ranges: given.range ? [given.range] : [] }];
  }
  return lockProblems(lock, given.fileName, plan, inputName, "refresh it with --target lock").map((p) => ({ rule: rules.staleLock, detail: p.message, ranges: p.range ? [p.range] : [] }));
}

/** The lock a build would look for by name (LOCKFILE, then image.lockfile); undefined: only conda-lock.yml beside the file. */
export function namedLock(spec: EnvironmentSpec, opts: PlanOptions): { path: string; range?: SourceRange } | undefined {
  if (opts.buildArgs.LOCKFILE) return { path: opts.buildArgs.LOCKFILE };
  return spec.image.lockfile ? { path: spec.image.lockfile.value, range: spec.image.lockfile.range } : undefined;
}
