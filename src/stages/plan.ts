// spec + options -> plan: every decision about the build made once, from the user's file and
// the build's options, before any LLB exists. Pure; unit-tested without a daemon.
import { type BuildOptions, uniquePlatforms } from "../gateway/options";
import type { ImageSettings } from "../image/config";
import { normalizeReference } from "../image/reference";
import type { PbPlatform } from "../llb/pb";
import { parsePlatform } from "../llb/platform";
import type { EnvironmentSpec } from "../spec/environment";
import { type Problem, show, SpecError } from "../spec/errors";
import { defaultBase, defaultPrefix, defaultUser, defaultWorkdir } from "../spec/image-section";
import type { Located, SourceRange } from "../spec/source";

export const targets = ["image"] as const;
export type Target = (typeof targets)[number];

export interface BuildPlan {
  target: Target;
  platforms: PbPlatform[];
  base: { ref: string; range?: SourceRange; origin: string };
  prefix: string;
  workdir: string;
  appCopy: Located<string>[];
  /** Image settings shared by every platform (the platform is filled in per platform). */
  image: Omit<ImageSettings, "platform">;
  ignoreCache: boolean;
  sourceDateEpoch?: number;
  /** Things the user should know, shown through BuildKit's warnings. */
  warnings: Problem[];
}

function pick<T>(arg: string | undefined, fromFile: Located<T> | undefined, fallback: T): { value: T | string; range?: SourceRange; origin: string } {
  if (arg !== undefined && arg !== "") return { value: arg, origin: "build arg" };
  if (fromFile) return { value: fromFile.value, range: fromFile.range, origin: "image section" };
  return { value: fallback, origin: "default" };
}

export function planBuild(spec: EnvironmentSpec, opts: BuildOptions): BuildPlan {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const img = spec.image;
  const args = opts.buildArgs;

  const target = (opts.target ?? "image") as Target;
  if (!targets.includes(target)) problems.push({ message: `unknown build target ${show(opts.target)}; available targets: ${targets.join(", ")}` });

  const baseChoice = pick(args.BASE_IMAGE, img.base, defaultBase);
  let baseRef = String(baseChoice.value);
  try {
    baseRef = normalizeReference(baseRef);
  } catch (e) {
    problems.push({ message: `image.base (${baseChoice.origin}): ${(e as Error).message}`, range: baseChoice.range });
  }

  const prefixChoice = pick(args.PREFIX, img.prefix, defaultPrefix);
  const prefix = String(prefixChoice.value);
  if (!prefix.startsWith("/") || prefix === "/") problems.push({ message: `image.prefix (${prefixChoice.origin}): expected an absolute path other than /, got ${show(prefix)}`, range: prefixChoice.range });

  let platforms = opts.platforms;
  if (!("platform" in opts.raw) && img.platforms.length) {
    platforms = uniquePlatforms(img.platforms.flatMap((p) => {
      try {
        return [parsePlatform(p.value)];
      } catch (e) {
        problems.push({ message: `image.platforms: ${(e as Error).message}`, range: p.range });
        return [];
      }
    }));
  }

  const workdir = img.workdir?.value ?? defaultWorkdir;
  const labels: Record<string, string> = {};
  for (const l of img.labels) labels[l.key.value] = l.value.value;
  Object.assign(labels, opts.labels);

  for (const [key, what] of [
    ["lockfile", img.lockfile],
    ["prune", img.prune?.preset],
    ["virtual-packages", img.virtualPackages[0]?.key],
    ["post-link", img.postLink],
    ["compile-pyc", img.compilePyc],
    ["app.install", img.app.install],
  ] as const) {
    if (what) warnings.push({ message: `image.${key} is not implemented yet by this frontend version and is ignored`, range: what.range });
  }
  if (spec.dependencies.length || spec.pip.length) {
    warnings.push({ message: "conda dependencies are not installed yet by this frontend version: the image holds the base and the app only", range: spec.dependencies[0]?.range ?? spec.pip[0]?.range });
  }

  if (problems.length) throw new SpecError(spec.file, problems);
  const hc = img.healthcheck;
  return {
    target,
    platforms,
    base: { ref: baseRef, range: baseChoice.range, origin: baseChoice.origin },
    prefix,
    workdir,
    appCopy: img.app.copy,
    image: {
      env: img.env.map((e) => [e.key.value, e.value.value]),
      entrypoint: img.entrypoint?.value,
      cmd: img.cmd?.value,
      user: img.user?.value ?? defaultUser,
      workdir,
      labels,
      ports: img.ports.map((p) => p.value),
      healthcheck: hc
        ? { Test: hc.test, Interval: hc.intervalNs, Timeout: hc.timeoutNs, StartPeriod: hc.startPeriodNs, Retries: hc.retries }
        : undefined,
      stopSignal: img.stopSignal?.value,
    },
    ignoreCache: opts.noCache === "all" || (Array.isArray(opts.noCache) && opts.noCache.length > 0),
    sourceDateEpoch: opts.sourceDateEpoch,
    warnings,
  };
}
