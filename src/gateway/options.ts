// What the daemon tells a frontend about the build: BUILDKIT_FRONTEND_OPT_<n>=key=value
// environment variables (n in no particular order), the session id and the workers.
import type { PbPlatform } from "../llb/pb";
import { parsePlatform, uniquePlatforms } from "../llb/platform";
import type { PlanOptions } from "../plan/plan";

/** The planner's options (raw, target, buildArgs, labels, noCache, platforms, networkMode, sourceDateEpoch) and the rest. */
export interface BuildOptions extends PlanOptions {
  filename: string;
  /** Local names for the input file's folder and the build context. */
  dockerfileLocal: string;
  contextLocal: string;
  imageResolveMode: "default" | "pull" | "local";
  /** The frontend image reference the build was forwarded to (`source`). */
  frontendSource?: string;
  sessionId: string;
  workers: WorkerInfo[];
  /** The subrequest asked for (`--call`), e.g. `frontend.outline`; undefined for a normal build. */
  requestId?: string;
  /** Caches to import (--cache-from), passed into every solve the frontend makes. */
  cacheImports: CacheImport[];
}

/** One --cache-from: the importer's type and attributes, as BuildKit's CacheOptionsEntry. */
export interface CacheImport {
  Type: string;
  Attrs: Record<string, string>;
}

export interface WorkerInfo {
  id: string;
  platforms: PbPlatform[];
}

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptionError";
  }
}

export function readRawOptions(env: NodeJS.ProcessEnv): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("BUILDKIT_FRONTEND_OPT_") || value === undefined) continue;
    const eq = value.indexOf("=");
    if (eq < 0) raw[value] = "";
    else raw[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return raw;
}

function prefixed(raw: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(raw).sort()) {
    if (key.startsWith(prefix)) out[key.slice(prefix.length)] = raw[key]!;
  }
  return out;
}

function parseNoCache(raw: Record<string, string>): BuildOptions["noCache"] {
  if (!("no-cache" in raw)) return undefined;
  const value = raw["no-cache"]!.trim();
  if (value === "") return "all";
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

function parseNetwork(value: string | undefined): BuildOptions["networkMode"] {
  switch (value ?? "") {
    case "":
    case "default":
    case "sandbox":
      return "sandbox";
    case "host":
      return "host";
    case "none":
      return "none";
    default:
      throw new OptionError(`unsupported network mode ${JSON.stringify(value)} (--network): use default, host or none`);
  }
}

function parseResolveMode(value: string | undefined): BuildOptions["imageResolveMode"] {
  switch (value ?? "") {
    case "":
    case "default":
      return "default";
    case "pull":
      return "pull";
    case "local":
      return "local";
    default:
      throw new OptionError(`unsupported image-resolve-mode ${JSON.stringify(value)}: use default, pull or local`);
  }
}

function parseWorkers(json: string | undefined): WorkerInfo[] {
  if (!json) return [];
  try {
    const list = JSON.parse(json) as { id?: string; ID?: string; platforms?: PbPlatform[]; Platforms?: PbPlatform[] }[];
    return list.map((w) => ({ id: w.id ?? w.ID ?? "", platforms: w.platforms ?? w.Platforms ?? [] }));
  } catch {
    return [];
  }
}

/**
 * `cache-imports`: a JSON list of {Type, Attrs} (buildx, buildctl --import-cache); `cache-from`:
 * the older comma list of registry references. Both, as BuildKit's own frontends read them.
 */
export function parseCacheImports(raw: Record<string, string>): CacheImport[] {
  const out: CacheImport[] = [];
  const json = raw["cache-imports"];
  if (json) {
    let list: unknown;
    try {
      list = JSON.parse(json);
    } catch (e) {
      throw new OptionError(`cache-imports (--cache-from) is not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(list)) throw new OptionError(`cache-imports (--cache-from) must be a JSON list of {Type, Attrs}, not ${JSON.stringify(list)}`);
    for (const entry of list as unknown[]) out.push(cacheImport(entry));
  }
  for (const ref of (raw["cache-from"] ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    out.push({ Type: "registry", Attrs: { ref } });
  }
  return out;
}

function cacheImport(entry: unknown): CacheImport {
  const bad = () => new OptionError(`cache-imports (--cache-from): each entry must be {"Type": string, "Attrs": {string: string}}, not ${JSON.stringify(entry)}`);
  if (typeof entry !== "object" || entry === null) throw bad();
  const { Type, Attrs } = entry as { Type?: unknown; Attrs?: unknown };
  if (typeof Type !== "string" || !Type) throw bad();
  if (Attrs !== undefined && Attrs !== null && (typeof Attrs !== "object" || Array.isArray(Attrs))) throw bad();
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries((Attrs ?? {}) as Record<string, unknown>)) {
    if (typeof v !== "string") throw bad();
    attrs[k] = v;
  }
  return { Type, Attrs: attrs };
}

function parseEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  // BuildKit keeps times as int64 nanoseconds: anything past 2262 cannot be represented.
  if (!/^\d+$/.test(value) || Number(value) > 9_000_000_000) throw new OptionError(`SOURCE_DATE_EPOCH must be a whole number of seconds (before the year 2255), not ${JSON.stringify(value)}`);
  return Number(value);
}

function platformOption(text: string): PbPlatform {
  try {
    return parsePlatform(text);
  } catch (e) {
    throw new OptionError(`--platform: ${(e as Error).message}`);
  }
}

export function parseBuildOptions(env: NodeJS.ProcessEnv, defaultPlatform: PbPlatform): BuildOptions {
  const raw = readRawOptions(env);
  const buildArgs = prefixed(raw, "build-arg:");
  const platformList = (raw.platform ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  const platforms = platformList.length ? uniquePlatforms(platformList.map(platformOption)) : [defaultPlatform];
  const workers = parseWorkers(env.BUILDKIT_WORKERS);
  return {
    raw,
    filename: raw.filename || "Dockerfile",
    dockerfileLocal: raw.dockerfilekey || "dockerfile",
    contextLocal: raw.contextkey || "context",
    target: raw.target || undefined,
    buildArgs,
    labels: prefixed(raw, "label:"),
    noCache: parseNoCache(raw),
    platforms,
    networkMode: parseNetwork(raw["force-network-mode"]),
    imageResolveMode: parseResolveMode(raw["image-resolve-mode"]),
    frontendSource: raw.source || undefined,
    sessionId: env.BUILDKIT_SESSION_ID ?? "",
    workers,
    requestId: raw.requestid || undefined,
    sourceDateEpoch: parseEpoch(buildArgs.SOURCE_DATE_EPOCH),
    cacheImports: parseCacheImports(raw),
  };
}
