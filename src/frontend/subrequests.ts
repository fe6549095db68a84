// Subrequests (`docker buildx build --call ...`, `--check`): the request id arrives in the
// `requestid` option and the answer is a Result with metadata only, in the shapes of BuildKit's
// frontend/subrequests packages (result.json, result.txt, version, and for lint
// result.statuscode). buildx prints result.json with its own printers (result.txt only for a
// version newer than it knows), so the JSON field names are the contract; result.txt is our
// rendering of the same, for clients that print it as it is.
import type { Bridge } from "../gateway/bridge";
import type { Result } from "../gateway/messages";
import { type BuildOptions, OptionError } from "../gateway/options";
import type { EnvironmentSpec } from "../input/environment";
import { type InputSpec, parseInputSpec } from "../input/input-spec";
import { SpecError } from "../input/errors";
import type { SourceRange } from "../input/source";
import { type LintLock, type LintReport, lint, namedLock } from "../plan/lint";
import { type Outline, outline, type TargetInfo, targetList } from "../plan/outline";
import { readBesideInput, readInput, type InputFile } from "./inputs";

export const requests = {
  describe: "frontend.subrequests.describe",
  outline: "frontend.outline",
  targets: "frontend.targets",
  lint: "frontend.lint",
} as const;

const version = "1.0.0";
const named = (...names: string[]) => names.map((name) => ({ name, description: "" }));
const request = (name: string, description: string, metadata: string[], opts: { name: string; description: string }[] = []) => ({ name, version, type: "rpc", description, opts, inputs: [], metadata: named(...metadata), refs: [] });

/** What frontend.subrequests.describe lists: every request answered here. */
export const answered = [
  request(requests.outline, "The build args, secrets and platforms this environment.yml's build reads", ["result.json", "result.txt"], [{ name: "target", description: "The target to outline (image, lock or plan)" }]),
  request(requests.targets, "The targets an environment.yml can build", ["result.json", "result.txt"]),
  request(requests.lint, "Lint an environment.yml", ["result.json", "result.txt", "result.statuscode"]),
  request(requests.describe, "The requests this frontend answers", ["result.json", "result.txt"]),
];

/** A place in the input file as BuildKit's pb.Location: sources[sourceIndex], 1-based lines. */
interface PbLocation {
  sourceIndex: number;
  ranges: { start: { line: number; character: number }; end: { line: number; character: number } }[];
}

const location = (ranges: SourceRange[]): PbLocation => ({ sourceIndex: 0, ranges: ranges.map((r) => ({ start: { ...r.start }, end: { ...r.end } })) });
/** Go's encoding/json writes []byte as base64: the input file as outline's and targets' sources. */
const base64 = (data: Uint8Array) => Buffer.from(data).toString("base64");

function metadataResult(json: unknown, text: string, extra: Record<string, string> = {}): Result {
  const metadata: Record<string, Uint8Array> = { "result.json": Buffer.from(JSON.stringify(json, null, 2)), "result.txt": Buffer.from(text) };
  for (const [k, v] of Object.entries(extra)) metadata[k] = Buffer.from(v);
  return { metadata };
}

/** Left-aligned columns, `gap` spaces apart, as Go's tabwriter prints them. */
export function columns(rows: string[][], gap: number): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + gap))).join("").trimEnd() + "\n").join("");
}

export function describeResult(): Result {
  const text = columns([["NAME", "VERSION", "DESCRIPTION"], ...answered.map((r) => [r.name, r.version, r.description])], 2);
  return metadataResult(answered, text, { version });
}

export function targetsResult(list: TargetInfo[], input: InputFile): Result {
  const json = {
    targets: list.map((t) => ({ name: t.name, default: t.default, description: t.description, ...(t.range ? { location: location([t.range]) } : {}) })),
    sources: [base64(input.data)],
  };
  const text = columns([["TARGET", "DESCRIPTION"], ...list.map((t) => [t.default ? `${t.name} (default)` : t.name, t.description])], 1);
  return metadataResult(json, text, { version });
}

export function outlineResult(o: Outline, input: InputFile): Result {
  const json = {
    name: o.target,
    description: `${o.description}; platforms: ${o.platforms.join(", ")}`,
    // Not in BuildKit's Outline type (its readers ignore it): the platforms, for JSON readers.
    platforms: o.platforms,
    args: o.args.map((a) => ({ name: a.name, description: a.description, ...(a.value ? { value: a.value } : {}), ...(a.range ? { location: location([a.range]) } : {}) })),
    secrets: o.secrets.map((s) => ({ name: s.name, ...(s.required ? { required: true } : {}), ...(s.range ? { location: location([s.range]) } : {}) })),
    sources: [base64(input.data)],
  };
  const text = [
    columns([["TARGET:", json.name], ["DESCRIPTION:", json.description]], 1),
    columns([["BUILD ARG", "VALUE", "DESCRIPTION"], ...o.args.map((a) => [a.name, a.value, a.description])], 3),
    columns([["SECRET", "REQUIRED"], ...o.secrets.map((s) => [s.name, s.required ? "true" : ""])], 3),
  ].join("\n");
  return metadataResult(json, `${text}\n`, { version });
}

/** The lines of the input file a finding points at, framed as buildx frames a source. */
function sourceSnippet(input: InputFile, ranges: SourceRange[]): string {
  if (!ranges.length) return "";
  const lines = input.text.split("\n");
  const start = Math.min(...ranges.map((r) => r.start.line));
  const end = Math.max(...ranges.map((r) => r.end.line));
  const marked = (n: number) => ranges.some((r) => n >= r.start.line && n <= r.end.line);
  const body = lines.slice(start - 1, end).map((l, i) => `${marked(start + i) ? ">>>" : "   "} ${String(start + i).padStart(3)} | ${l}`);
  const rule = "--------------------";
  return `${input.name}:${start}\n${rule}\n${body.join("\n")}\n${rule}\n`;
}

/**
 * Warnings without a place point at no source (sourceIndex -1): buildx prints them without lines.
 * statuscode 1 when anything was found, so `--check` exits non-zero (as BuildKit's lint does).
 */
export function lintResult(report: LintReport, input: InputFile): Result {
  const warnings = report.warnings.map((w) => ({
    ruleName: w.rule.name,
    description: w.rule.description,
    url: w.rule.url,
    detail: w.detail,
    location: w.ranges.length ? location(w.ranges) : { sourceIndex: -1, ranges: [] },
  }));
  const json = {
    warnings,
    sources: [{ filename: input.name, language: "YAML", data: base64(input.data) }],
    ...(report.buildError ? { buildError: { message: report.buildError.message, location: location(report.buildError.range ? [report.buildError.range] : []) } } : {}),
  };
  const text = report.warnings.map((w) => `\nWARNING: ${w.rule.name} - ${w.rule.url}\n${w.detail}\n${sourceSnippet(input, w.ranges)}`).join("");
  const status = report.warnings.length || report.buildError ? "1" : "0";
  return metadataResult(json, text, { "result.statuscode": status, version });
}

function parsed(input: InputFile, opts: BuildOptions): InputSpec | undefined {
  try {
    return parseInputSpec(input.name, input.text, opts.buildArgs);
  } catch (e) {
    if (e instanceof SpecError) return undefined;
    throw e;
  }
}

/** The lock a build would check: named (LOCKFILE, image.lockfile; read beside the file) or conda-lock.yml read with the input. */
async function lockForLint(bridge: Bridge, opts: BuildOptions, input: InputFile, spec: EnvironmentSpec | undefined): Promise<LintLock | undefined> {
  const named = spec ? namedLock(spec, opts) : undefined;
  if (named) {
    const bytes = await readBesideInput(bridge, opts, named.path);
    return { fileName: named.path, range: named.range, text: bytes ? Buffer.from(bytes).toString("utf8") : undefined };
  }
  return input.conventionalLock ? { fileName: input.conventionalLockName, text: Buffer.from(input.conventionalLock).toString("utf8") } : undefined;
}

/** Answers one subrequest: reads the input file (and for lint its lock), never solves or resolves a base. */
export async function answerSubrequest(bridge: Bridge, opts: BuildOptions, requestId: string): Promise<void> {
  if (requestId === requests.describe) return bridge.returnResult(describeResult());
  if (!Object.values(requests).includes(requestId as never)) {
    throw new OptionError(`this frontend does not answer ${requestId} requests; it answers ${Object.values(requests).join(", ")}`);
  }
  const input = await readInput(bridge, opts);
  if (requestId === requests.targets) return bridge.returnResult(targetsResult(targetList(parsed(input, opts)), input));
  if (requestId === requests.outline) return bridge.returnResult(outlineResult(outline(parseInputSpec(input.name, input.text, opts.buildArgs), opts), input));
  const lock = await lockForLint(bridge, opts, input, parsed(input, opts));
  return bridge.returnResult(lintResult(lint(input.name, input.text, opts, lock), input));
}
