// The SBOM step (--sbom / attest:sbom): our CLI's `sbom` subcommand on the frontend's own image
// writes the SPDX document (src/conda/sbom.ts) from a request made at graph time (the lock's
// packages, the base) and the install and pip steps' report folders (each package's license, the
// distributions pip installed), mounted read-only. Why a step: the graph is solved in one piece
// before the frontend reads any report (frontend/install.ts), and licenses and pip's packages are
// only known from the reports; a step that reads them inside the same Solve puts the file into
// the image without a second solve of the image. Its output is both the image's
// <prefix>/conda-meta/sbom.spdx.json layer and the attestation's file: the same bytes.
import { hash } from "node:crypto";
import { sbomFileName, type SbomRequest, spdxDocument, spdxText } from "../conda/sbom";
import { FileActions, State } from "../llb";
import type { ToolImage } from "../plan/image-plan";
import { toolState } from "./solve";

export interface SbomStageInput {
  tool: ToolImage;
  request: SbomRequest;
  /** The install steps' report folder, then the pip step's (when there is one). */
  reportFolders: State[];
  ignoreCache: boolean;
}

export interface SbomStage {
  /** The step's output: the document at `path`, for the attestation. */
  file: State;
  path: string;
  /** The same file at <prefix>/conda-meta/sbom.spdx.json on scratch, dated: a layer of its own. */
  layer: State;
  /** The layer's line in the image's history. */
  history: string;
}

export function sbomStage({ tool, request, reportFolders, ignoreCache }: SbomStageInput): SbomStage {
  const input = State.scratch().file(new FileActions().mkfile("/request.json", JSON.stringify(request, null, 1), { mode: 0o444, timestamp: 0 }), {
    name: `[sbom ${request.platform}] request`,
  });
  const reportMounts = reportFolders.map((from, i) => ({ type: "bind" as const, dest: `/reports/${i}`, from, readonly: true }));
  const exec = toolState(tool).run({
    args: [...tool.entrypoint, "sbom", "/in/request.json", `/out/${sbomFileName}`, ...reportMounts.map((m) => m.dest)],
    readonlyRoot: true,
    network: "none",
    mounts: [{ type: "bind", dest: "/in", from: input, readonly: true }, { type: "bind", dest: "/out", from: State.scratch() }, ...reportMounts, { type: "tmpfs", dest: "/tmp" }],
    name: `[sbom ${request.platform}] SPDX document of ${request.packages.length} conda packages${reportFolders.length > 1 ? " and pip's" : ""}`,
    ignoreCache,
  });
  return placed(exec.mount("/out"), request);
}

/**
 * An image without conda packages (no dependencies): nothing to report, so the document is known
 * at graph time and written by a file op, no step. Dated by SOURCE_DATE_EPOCH, else the epoch:
 * the graph must not change from one build to the next.
 */
export function sbomWithoutPackages(request: SbomRequest): SbomStage {
  const text = spdxText(spdxDocument({ ...request, packages: [] }, [], 0, (t) => hash("sha256", t, "hex")));
  const file = State.scratch().file(new FileActions().mkfile(`/${sbomFileName}`, text, { mode: 0o644, timestamp: request.sourceDateEpoch ?? 0 }), { name: `[sbom ${request.platform}] SPDX document` });
  return placed(file, request);
}

/** The document at <prefix>/conda-meta/sbom.spdx.json on scratch, as a layer. */
function placed(file: State, request: SbomRequest): SbomStage {
  const time = request.sourceDateEpoch ?? 0;
  const dest = `${request.prefix}/conda-meta/${sbomFileName}`;
  // Made, then copied onto scratch with the time: see environmentRecords in install.ts (mkdir
  // dates only the last folder it makes).
  const made = State.scratch().file(new FileActions().mkdir(`${request.prefix}/conda-meta`, { parents: true, timestamp: time }).copy(file, `/${sbomFileName}`, dest, { timestamp: time }), {
    name: `[sbom ${request.platform}] ${dest}`,
  });
  const layer = State.scratch().copy(made, "/", "/", { contents: true, timestamp: time }, { name: `[sbom ${request.platform}] ${dest}, dated` });
  return { file, path: `/${sbomFileName}`, layer, history: `conda-frontend: SBOM ${dest}` };
}
