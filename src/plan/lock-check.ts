// Whether a lock can build this plan: it must cover every platform built and must have been made
// from this environment.yml (our lock: its content hash; a lock from conda-lock or an @EXPLICIT
// list: every requested package is in it). One check for the build (frontend/conda.ts, which
// refuses the lock) and for --call check (lint.ts, which reports it).
import { subdirOf } from "../conda/virtual-packages";
import type { Problem } from "../input/errors";
import type { Lock } from "../input/lock";
import { formatPlatform } from "../llb/platform";
import { lockContentHash } from "./lock-request";
import type { BuildPlan } from "./plan";

/**
 * The lock's problems for `plan`. `inputName` names the environment file in the message;
 * `refresh` is the advice that ends each message (how to make the lock again).
 */
export function lockProblems(lock: Lock, fileName: string, plan: Pick<BuildPlan, "platforms" | "conda">, inputName: string, refresh: string): Problem[] {
  const problems: Problem[] = [];
  for (const platform of plan.platforms) {
    const subdir = subdirOf(platform);
    const packages = lock.packages.filter((p) => p.platform === subdir);
    if (!packages.length) {
      problems.push({ message: `${fileName} has no packages for ${subdir} (${formatPlatform(platform)}); it covers ${lock.platforms.join(", ") || "no platform"}; ${refresh}` });
    } else if (lock.ours) {
      if (lock.contentHash[subdir] !== lockContentHash(plan.conda, subdir)) {
        problems.push({ message: `${fileName} is stale: it was made from a different ${inputName} (content hash for ${subdir} differs); ${refresh}`, range: plan.conda.dependenciesRange });
      }
    } else {
      // A lock from conda-lock: its hash is conda-lock's own, so check names instead.
      const names = new Set(packages.map((p) => p.name));
      for (const s of plan.conda.specs) {
        if (!names.has(s.value.name)) problems.push({ message: `${fileName} is stale: it has no ${s.value.name} for ${subdir}; ${refresh}`, range: s.range });
      }
    }
  }
  return problems;
}
