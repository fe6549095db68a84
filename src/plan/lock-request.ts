// What the solve step is asked (the request, per platform with its virtual packages) and the
// lock's content hash, which says whether a committed lock was made from this environment.yml.
// Data only: stages/solve.ts makes the step from the request.
import { contentHash, type SolvePlatform, type SolveRequest } from "../conda/solve-request";
import { subdirOf, type VirtualPackage, virtualPackages } from "../conda/virtual-packages";
import type { PbPlatform } from "../llb/pb";
import type { CondaPlan } from "./plan";

export interface PlatformInputs {
  platform: PbPlatform;
  /** glibc of the base image, when it could be read. */
  baseGlibc?: string;
}

export function platformVirtualPackages(conda: CondaPlan, subdir: string, baseGlibc?: string): VirtualPackage[] {
  return virtualPackages({ subdir, baseGlibc, configured: conda.virtualPackages, overrides: conda.overrides });
}

/**
 * The lock's content hash: the specs, channels, platform and the virtual packages the user set.
 * The base image's glibc is left out on purpose, so a lock stays valid when the base is updated.
 */
export function lockContentHash(conda: CondaPlan, subdir: string): string {
  return contentHash({
    specs: conda.specs.map((s) => s.value.text),
    pip: conda.pip.map((p) => p.value),
    channels: conda.channels.map((c) => c.url),
    subdir,
    virtualPackages: platformVirtualPackages(conda, subdir).filter((v) => v.name !== "__glibc" || conda.virtualPackages.__glibc || conda.overrides.GLIBC !== undefined),
  });
}

export function solveRequest(conda: CondaPlan, platforms: PlatformInputs[], sourceName: string): SolveRequest {
  const solvePlatforms: SolvePlatform[] = platforms.map((p) => {
    const subdir = subdirOf(p.platform);
    return { subdir, virtualPackages: platformVirtualPackages(conda, subdir, p.baseGlibc), contentHash: lockContentHash(conda, subdir) };
  });
  return {
    specs: conda.specs.map((s) => (s.value.channel ? `${s.value.channel}::${s.value.solverSpec}` : s.value.solverSpec)),
    channels: conda.channels.map((c) => ({ name: c.name, url: c.url })),
    platforms: solvePlatforms,
    sources: [sourceName],
    ...(conda.privateChannels.length ? { privateChannels: conda.privateChannels } : {}),
  };
}
