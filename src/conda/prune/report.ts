// What each install step (and the pip step) wrote and left out, and the one-line summary the
// build shows: the environment's size and the bytes each prune rule kept out of the image.
import { symlinkSync, writeFileSync } from "node:fs";

export interface Tally {
  files: number;
  bytes: number;
}

/** Written by one step into its report mount, never into a layer. */
export interface StepReport {
  /** A conda package's install step, or the step that installs the `pip:` list. */
  kind: "package" | "pip";
  /** The package the step installed ("pip" for the pip step). */
  name: string;
  /** Regular files and links written under the prefix, and their bytes. */
  written: Tally;
  /** By prune rule: what the step did not write. */
  pruned: Record<string, Tally>;
  /**
   * What activation would read, so the frontend never has to look into the installed
   * environment: etc/conda/env_vars.d/*.json by file name (their text), etc/conda/activate.d
   * scripts, and post-link scripts (paths relative to the prefix).
   */
  envVarFiles?: Record<string, string>;
  activateScripts?: string[];
  postLinkScripts?: string[];
  /** The package's license as its info/index.json states it (for the SBOM); absent when it states none. */
  license?: string;
  /** The pip step: the distributions it installed (for the SBOM), by name and version. */
  distributions?: Distribution[];
}

export interface Distribution {
  name: string;
  version: string;
}

export function isStepReport(x: unknown): x is StepReport {
  const r = x as StepReport;
  const tally = (t: unknown) => typeof (t as Tally)?.files === "number" && typeof (t as Tally)?.bytes === "number";
  const strings = (a: unknown) => a === undefined || (Array.isArray(a) && a.every((x) => typeof x === "string"));
  const files = (f: unknown) => f === undefined || (typeof f === "object" && f !== null && Object.values(f).every((x) => typeof x === "string"));
  return (
    (r?.kind === "package" || r?.kind === "pip") &&
    typeof r.name === "string" &&
    tally(r.written) &&
    typeof r.pruned === "object" &&
    r.pruned !== null &&
    Object.values(r.pruned).every(tally) &&
    files(r.envVarFiles) &&
    strings(r.activateScripts) &&
    strings(r.postLinkScripts) &&
    (r.license === undefined || typeof r.license === "string") &&
    (r.distributions === undefined || (Array.isArray(r.distributions) && r.distributions.every((d: Distribution) => typeof d?.name === "string" && typeof d?.version === "string")))
  );
}

/**
 * A report longer than this is a file; shorter ones travel as a symlink's target (Linux takes
 * up to 4095 bytes there). The frontend gets every step's link target from one ReadDir call,
 * where files would cost one ReadFile call each: ~200 ms of every build for 150 packages.
 */
export const maxLinkedReport = 4095;

/** The step's report at `path`: the target of a symlink when it fits in one, else a file. */
export function writeStepReport(path: string, report: StepReport): void {
  const text = JSON.stringify(report);
  if (Buffer.byteLength(text) <= maxLinkedReport) symlinkSync(text, path);
  else writeFileSync(path, text + "\n");
}

/** 1536 -> "1.5 KiB"; binary units, as `du -h` and `docker images` readers expect of sizes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

export interface SizeSummary {
  written: Tally;
  pruned: Tally;
  /** Rules by bytes left out, largest first. */
  byRule: [string, Tally][];
}

export function summarize(reports: StepReport[]): SizeSummary {
  const written = { files: 0, bytes: 0 };
  const pruned = { files: 0, bytes: 0 };
  const rules = new Map<string, Tally>();
  for (const r of reports) {
    written.files += r.written.files;
    written.bytes += r.written.bytes;
    for (const [glob, t] of Object.entries(r.pruned)) {
      const sum = rules.get(glob) ?? { files: 0, bytes: 0 };
      sum.files += t.files;
      sum.bytes += t.bytes;
      rules.set(glob, sum);
      pruned.files += t.files;
      pruned.bytes += t.bytes;
    }
  }
  const byRule = [...rules].sort((a, b) => b[1].bytes - a[1].bytes || (a[0] < b[0] ? -1 : 1));
  return { written, pruned, byRule };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The message a user sees at the end of the build; `notes` say what else was left out. */
export function formatSummary(prefix: string, preset: string, reports: StepReport[], notes: string[] = []): string {
  const tail = notes.map((n) => `; ${n}`).join("");
  const s = summarize(reports);
  const steps = reports.filter((r) => r.kind === "package").length;
  const pip = reports.some((r) => r.kind === "pip") ? " and pip's packages" : "";
  const head = `environment ${prefix}: ${formatBytes(s.written.bytes)} in ${plural(s.written.files, "file")} from ${plural(steps, "package")}${pip}`;
  if (!s.byRule.length) return `${head}; image.prune (${preset}) left nothing out${tail}`;
  const rules = s.byRule.map(([glob, t]) => `${glob} ${formatBytes(t.bytes)} (${plural(t.files, "file")})`).join(", ");
  return `${head}; image.prune (${preset}) left out ${formatBytes(s.pruned.bytes)} in ${plural(s.pruned.files, "file")}: ${rules}${tail}`;
}
