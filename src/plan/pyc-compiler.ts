// The build machine's python that byte-compiles .pyc for a foreign platform. .pyc bytes depend on
// the python version, not on the machine, so a python of the same version built for the build
// machine's subdir writes the files the target's own python would, with no emulation: the
// install steps run it (mounted as the "compiler"), and the pip step runs pip with it.
//
// It comes from the lock when the lock also covers the build machine's subdir with the same python
// (an amd64 + arm64 build), else from a small solve of `python ==<version>` for the build
// machine's subdir on the channel the target's python came from.
import { isVirtualPackageName, subdirOf, virtualPackages } from "../conda/virtual-packages";
import type { SolveRequest } from "../conda/solve-request";
import type { Lock, LockedPackage } from "../input/lock";
import type { PbPlatform } from "../llb/pb";
import { formatPlatform } from "../llb/platform";

/** A build-machine python (with what it needs to run) for targets whose python has this version. */
export interface PycCompiler {
  /** The target python's version (and the compiler's). */
  version: string;
  /** The build machine's subdir the packages are for. */
  subdir: string;
  /** python and its dependencies, for the build machine. */
  packages: LockedPackage[];
  /** Set when the packages were solved by this build (not found in the lock). */
  solve?: SolveRequest;
}

/** What a foreign platform's python needs a compiler for: its version, build and channel. */
export interface CompilerNeed {
  version: string;
  /** The target python's build string: its implementation suffix (_cpython) is asked for too. */
  build: string;
  /** The channel the target's python came from (its URL without /<subdir>/<file>). */
  channel: string;
}

const isConda = (p: LockedPackage) => p.manager === "conda" && !isVirtualPackageName(p.name);

/** The python of each platform that is not the build machine's, once per version. */
export function compilerNeeds(lock: Lock, platforms: PbPlatform[], toolPlatform: PbPlatform): CompilerNeed[] {
  const needs = new Map<string, CompilerNeed>();
  for (const platform of platforms) {
    if (formatPlatform(platform) === formatPlatform(toolPlatform)) continue;
    const subdir = subdirOf(platform);
    const python = lock.packages.find((p) => isConda(p) && p.platform === subdir && p.name === "python");
    if (!python || needs.has(python.version)) continue;
    needs.set(python.version, { version: python.version, build: python.build, channel: channelOf(python.url) });
  }
  return [...needs.values()];
}

/** A package URL's channel: http://host/path/linux-aarch64/python-3.11.2-h_0.conda -> http://host/path. */
export function channelOf(url: string): string {
  return url.replace(/\/[^/]+\/[^/]+$/, "");
}

/** A package and, transitively, what it depends on, among one subdir's packages of the lock. */
export function closureOf(packages: LockedPackage[], name: string): LockedPackage[] | undefined {
  const byName = new Map(packages.map((p) => [p.name, p]));
  if (!byName.has(name)) return undefined;
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n) || !byName.has(n)) return; // virtual packages and constraints met by the system
    seen.add(n);
    for (const dep of Object.keys(byName.get(n)!.dependencies)) visit(dep);
  };
  visit(name);
  return packages.filter((p) => seen.has(p.name));
}

/** The compiler from the lock itself: the build machine's subdir has python of the same version. */
export function compilerFromLock(lock: Lock, need: CompilerNeed, toolSubdir: string): PycCompiler | undefined {
  const packages = lock.packages.filter((p) => isConda(p) && p.platform === toolSubdir);
  const python = packages.find((p) => p.name === "python");
  if (!python || python.version !== need.version || implementation(python.build) !== implementation(need.build)) return undefined;
  return { version: need.version, subdir: toolSubdir, packages: closureOf(packages, "python")! };
}

/** A python build string's implementation suffix (conda-forge: _cpython, _pypy), if any. */
function implementation(build: string): string | undefined {
  return /_(cpython|pypy[0-9]*)$/.exec(build)?.[1];
}

/** The solve of the compiler: exactly the target's python version, for the build machine's subdir. */
export function compilerSolveRequest(need: CompilerNeed, toolSubdir: string, privateChannels: string[]): SolveRequest {
  const impl = implementation(need.build);
  return {
    specs: [impl ? `python ==${need.version} *_${impl}` : `python ==${need.version}`],
    channels: [{ name: need.channel, url: need.channel }],
    platforms: [{ subdir: toolSubdir, virtualPackages: virtualPackages({ subdir: toolSubdir, configured: {}, overrides: {} }), contentHash: "" }],
    sources: ["(the build machine's python for .pyc)"],
    ...(privateChannels.some((c) => need.channel.startsWith(c) || c.startsWith(need.channel)) ? { privateChannels } : {}),
  };
}
