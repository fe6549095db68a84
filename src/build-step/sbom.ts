// The `sbom` build step: the image's SPDX document (src/conda/sbom.ts) from the frontend's request
// and the install and pip steps' reports, mounted read-only. It writes one file, which the image
// carries under <prefix>/conda-meta and the SBOM attestation points at: both are the same bytes.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isStepReport, type StepReport } from "../conda/prune/report";
import { type SbomRequest, spdxDocument, spdxText } from "../conda/sbom";

/** Every report in a folder: a symlink's target, or a file's text (report.ts writes both). */
export function readReportFolder(dir: string): StepReport[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const path = join(dir, name);
      return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : readFileSync(path, "utf8");
    })
    .map((text) => JSON.parse(text) as unknown)
    .filter(isStepReport);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** sbom <request.json> <out file> <report folder>...: exit 0 when the file is written. */
export function runSbom(requestFile: string, out: string, reportDirs: string[]): number {
  const request = JSON.parse(readFileSync(requestFile, "utf8")) as SbomRequest;
  const reports = reportDirs.flatMap(readReportFolder);
  const doc = spdxDocument(request, reports, Math.floor(Date.now() / 1000), sha256);
  writeFileSync(out, spdxText(doc), { mode: 0o644 });
  return 0;
}
