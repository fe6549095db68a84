// What `--call targets` and `--call outline` show: the build's targets, and the build args and
// secrets the frontend reads, each with its value (given or default) and, when the input file sets
// the same thing, where. Pure; src/frontend/subrequests.ts encodes the answers.
import type { InputSpec } from "../input/input-spec";
import { defaultChannelAlias } from "../conda/channels";
import type { EnvironmentSpec } from "../input/environment";
import { defaultBase, defaultPrefix } from "../input/image-section";
import type { SourceRange } from "../input/source";
import { formatPlatform, parsePlatform, uniquePlatforms } from "../llb/platform";
import type { PbPlatform } from "../llb/pb";
import { type PlanOptions, type Target, targets } from "./plan";

export interface TargetInfo {
  name: Target;
  default: boolean;
  description: string;
  /** The line the target is mostly made from, when the file has one. */
  range?: SourceRange;
}

const targetDescriptions: Record<Target, string> = {
  image: "the slim image: the environment installed on the base image",
  lock: "conda-lock.yml, the solved environment for every platform (--output type=local)",
  plan: "plan.json, the complete plan the image is built from, for debugging (--output type=local)",
};

/** spec is undefined when the file does not parse: the targets are the same, without lines. */
export function targetList(spec: OutlinedSpec | undefined): TargetInfo[] {
  const ranges: Partial<Record<Target, SourceRange>> = { image: spec?.image.base?.range, lock: spec?.dependencies[0]?.range };
  const environments = spec?.pixiEnvironments;
  const describe = (name: Target) => (name === "image" && environments ? `${targetDescriptions.image}, of the pixi environment PIXI_ENVIRONMENT names: ${environments.join(", ")}` : targetDescriptions[name]);
  return targets.map((name) => ({ name, default: name === "image", description: describe(name), range: ranges[name] }));
}

/** What the outline reads: the input file's spec, with a pixi manifest's environments (input/input-spec.ts). */
export type OutlinedSpec = EnvironmentSpec & Pick<InputSpec, "pixiEnvironments">;

export interface ArgInfo {
  name: string;
  description: string;
  value: string;
  range?: SourceRange;
}

export interface SecretInfo {
  name: string;
  required: boolean;
  description: string;
  range?: SourceRange;
}

export interface Outline {
  target: Target;
  description: string;
  platforms: string[];
  args: ArgInfo[];
  secrets: SecretInfo[];
}

/** The build arg, else what the file sets (and where), else the default. */
function fromArgOrFile(args: Record<string, string>, name: string, file: { value: string; range: SourceRange } | undefined, fallback: string, description: string): ArgInfo {
  if (args[name]) return { name, description, value: args[name]!, range: file?.range };
  if (file) return { name, description, value: file.value, range: file.range };
  return { name, description, value: fallback };
}

const overrideNames = ["GLIBC", "LINUX", "CUDA", "ARCHSPEC"];
const pipArgs: [string, string][] = [
  ["PIP_INDEX_URL", "pip's index for the pip: list"],
  ["PIP_EXTRA_INDEX_URL", "more indexes for the pip: list"],
  ["PIP_FIND_LINKS", "pip's find-links for the pip: list"],
  ["PIP_NO_INDEX", "pip's no-index for the pip: list"],
  ["PIP_TRUSTED_HOST", "hosts pip trusts without TLS, for the pip: list"],
];

function overrideArgs(spec: EnvironmentSpec, args: Record<string, string>): ArgInfo[] {
  const given = Object.keys(args).filter((k) => k.startsWith("CONDA_OVERRIDE_")).map((k) => k.slice("CONDA_OVERRIDE_".length));
  const names = [...overrideNames, ...given.filter((n) => !overrideNames.includes(n)).sort()];
  return names.map((n) => {
    const vp = spec.image.virtualPackages.find((v) => v.key.value === `__${n.toLowerCase()}`);
    const description = `the __${n.toLowerCase()} virtual package the solve assumes (image.virtual-packages; an empty value removes it)`;
    const name = `CONDA_OVERRIDE_${n}`;
    if (name in args) return { name, description, value: args[name]!, range: vp?.key.range };
    return vp ? { name, description, value: vp.value.value, range: vp.key.range } : { name, description, value: "" };
  });
}

/** As the plan chooses them (--platform, else image.platforms, else the worker's); a bad entry is the build's error, left out here. */
function outlinePlatforms(spec: EnvironmentSpec, opts: PlanOptions): PbPlatform[] {
  if ("platform" in opts.raw || !spec.image.platforms.length) return opts.platforms;
  return uniquePlatforms(spec.image.platforms.flatMap((p) => {
    try {
      return [parsePlatform(p.value)];
    } catch {
      return [];
    }
  }));
}

export function outline(spec: OutlinedSpec, opts: PlanOptions): Outline {
  const args = opts.buildArgs;
  const img = spec.image;
  const pipRange = spec.pip[0]?.range;
  const target = (targets as readonly string[]).includes(opts.target ?? "image") ? ((opts.target ?? "image") as Target) : "image";
  return {
    target,
    description: targetDescriptions[target],
    platforms: outlinePlatforms(spec, opts).map(formatPlatform),
    args: [
      fromArgOrFile(args, "BASE_IMAGE", img.base, defaultBase, "the base image (image.base)"),
      fromArgOrFile(args, "PREFIX", img.prefix, defaultPrefix, "where the environment is installed (image.prefix)"),
      fromArgOrFile(args, "LOCKFILE", img.lockfile, "", "a lock file beside the input file to install from (image.lockfile; else conda-lock.yml if present)"),
      { name: "CONDA_CHANNEL_ALIAS", description: "the URL channel names are relative to (a private mirror)", value: args.CONDA_CHANNEL_ALIAS || defaultChannelAlias, range: spec.channels[0]?.range },
      ...overrideArgs(spec, args),
      ...pipArgs.map(([name, description]) => ({ name, description, value: args[name] ?? "", range: pipRange })),
      ...(spec.pixiEnvironments ? [{ name: "PIXI_ENVIRONMENT", description: `the pixi environment to build: ${spec.pixiEnvironments.join(", ")}`, value: args.PIXI_ENVIRONMENT || "default" }] : []),
      { name: "SOURCE_DATE_EPOCH", description: "file times in the app layer and the image's creation time (seconds)", value: args.SOURCE_DATE_EPOCH ?? "" },
      { name: "CONDA_FRONTEND_TIMING", description: "1: report the frontend's start-to-Return time as a build warning", value: args.CONDA_FRONTEND_TIMING ?? "" },
    ],
    secrets: [
      // The solve mounts it (not optional) whenever image.private-channels is set.
      { name: "conda-auth", required: img.privateChannels.length > 0, description: "Authorization header value for image.private-channels", range: img.privateChannels[0]?.range },
      { name: "pip-conf", required: false, description: "a pip.conf for the pip: list", range: pipRange },
      { name: "netrc", required: false, description: "a .netrc for the pip: list", range: pipRange },
    ],
  };
}
