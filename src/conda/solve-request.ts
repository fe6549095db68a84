// What the frontend hands the solve step (as /in/request.json) and what the step answers
// (/out/result.json next to /out/conda-lock.yml). The request is the solve's whole input, so
// BuildKit's cache key for the step is exactly the normalised spec.
import { createHash } from "node:crypto";
import type { Lock } from "../input/lock";
import type { VirtualPackage } from "./virtual-packages";

export interface SolvePlatform {
  subdir: string;
  virtualPackages: VirtualPackage[];
  contentHash: string;
}

export interface SolveRequest {
  /** Match specs for the solver, in the order written. */
  specs: string[];
  /** Channels in priority order. */
  channels: { name: string; url: string }[];
  platforms: SolvePlatform[];
  /** The input file's name, recorded in the lock's metadata. */
  sources: string[];
  /** Channel URL prefixes to send the conda-auth secret's headers to. */
  privateChannels?: string[];
}

export type SolveResult =
  /**
   * `lock` is what the step wrote as conda-lock.yml, as JSON: the frontend reads this rather than
   * parse the YAML (70 ms for 150 packages with the yaml library; JSON.parse takes 1).
   */
  | { ok: true; packages: Record<string, number>; lock: Lock }
  | { ok: false; kind: "unsatisfiable" | "invalid-spec"; platform: string; message: string };

/**
 * The lock's content hash for one platform: everything that decides the solve. A lock whose hash
 * differs from the environment's was made from another environment.yml (or base image).
 */
export function contentHash(inputs: { specs: string[]; pip: string[]; channels: string[]; subdir: string; virtualPackages: VirtualPackage[] }): string {
  const canonical = JSON.stringify({
    channels: inputs.channels,
    specs: [...inputs.specs].sort(),
    pip: [...inputs.pip].sort(),
    platform: inputs.subdir,
    virtual: inputs.virtualPackages.map((v) => `${v.name}=${v.version}=${v.build}`).sort(),
  });
  return createHash("sha256").update(canonical).digest("hex");
}
