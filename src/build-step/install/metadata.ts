// A package's metadata from its info/ folder: index.json, the file list (paths.json, or the
// legacy files / has_prefix / no_link), and link.json's noarch entry points.
import type { ArchiveEntry } from "./archive";

export interface IndexJson {
  name: string;
  version: string;
  build: string;
  build_number?: number;
  depends?: string[];
  constrains?: string[];
  subdir?: string;
  /** "python", "generic"; legacy `true` means generic. */
  noarch?: string | boolean;
  python_site_packages_path?: string;
  license?: string;
  timestamp?: number;
  [other: string]: unknown;
}

export interface PathEntry {
  path: string;
  pathType: "hardlink" | "softlink" | "directory";
  sha256?: string;
  size?: number;
  fileMode?: "text" | "binary";
  prefixPlaceholder?: string;
  noLink: boolean;
}

export interface PackageMetadata {
  index: IndexJson;
  paths: PathEntry[];
  /** noarch python console scripts: `cmd = module:function`. */
  entryPoints: string[];
  noarch: "python" | "generic" | undefined;
}

export class MetadataError extends Error {}

/** The placeholder conda-build used before paths.json, for `has_prefix` lines with just a path. */
export const legacyPlaceholder = "/opt/anaconda1anaconda2anaconda3";

function json<T>(entry: ArchiveEntry | undefined, what: string): T | undefined {
  if (!entry) return undefined;
  try {
    return JSON.parse(entry.data.toString("utf8")) as T;
  } catch (e) {
    throw new MetadataError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Splits a has_prefix line: fields separated by spaces, each possibly "quoted" with \\ escapes. */
export function splitHasPrefixLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    if (i >= line.length) break;
    if (line[i] === '"') {
      let value = "";
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) {
          const next = line[i + 1]!;
          value += next === "n" ? "\n" : next === "t" ? "\t" : next;
          i += 2;
        } else value += line[i++];
      }
      i++;
      fields.push(value);
    } else {
      const end = line.indexOf(" ", i);
      fields.push(end < 0 ? line.slice(i) : line.slice(i, end));
      i = end < 0 ? line.length : end;
    }
  }
  return fields;
}

interface PathsJson {
  paths_version?: unknown;
  paths?: unknown;
}

/** What JSON calls a value's type, for messages: null and array told apart from object. */
const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v);

function optional<T>(value: unknown, type: "string" | "number" | "boolean", what: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw new MetadataError(`${what} must be a ${type}, not ${typeName(value)}`);
  return value as T;
}

function fromPathsJson(doc: PathsJson): PathEntry[] {
  if (doc.paths_version !== 1) throw new MetadataError(`info/paths.json: unsupported paths_version ${JSON.stringify(doc.paths_version)}`);
  const list = doc.paths ?? [];
  if (!Array.isArray(list)) throw new MetadataError(`info/paths.json: "paths" must be a list, not ${typeName(list)}`);
  return list.map((raw: unknown, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new MetadataError(`info/paths.json: entry ${i} must be an object, not ${typeName(raw)}`);
    const p = raw as Record<string, unknown>;
    if (typeof p._path !== "string") throw new MetadataError(`info/paths.json: entry ${i} has no "_path" string`);
    const at = `info/paths.json: ${JSON.stringify(p._path)}:`;
    const pathType = (optional<string>(p.path_type, "string", `${at} path_type`) ?? "hardlink") as PathEntry["pathType"];
    if (!["hardlink", "softlink", "directory"].includes(pathType)) throw new MetadataError(`info/paths.json: unknown path_type ${JSON.stringify(p.path_type)} for ${p._path}`);
    const placeholder = optional<string>(p.prefix_placeholder, "string", `${at} prefix_placeholder`);
    const fileMode = placeholder ? ((optional<string>(p.file_mode, "string", `${at} file_mode`) ?? "text") as "text" | "binary") : undefined;
    if (fileMode && fileMode !== "text" && fileMode !== "binary") throw new MetadataError(`info/paths.json: unknown file_mode ${JSON.stringify(p.file_mode)} for ${p._path}`);
    const size = optional<number>(p.size_in_bytes, "number", `${at} size_in_bytes`);
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) throw new MetadataError(`${at} size_in_bytes ${size} is not a size`);
    const sha256 = optional<string>(p.sha256, "string", `${at} sha256`);
    return { path: p._path, pathType, sha256, size, fileMode, prefixPlaceholder: placeholder || undefined, noLink: p.no_link === true };
  });
}

/**
 * Packages from before paths.json: info/files, info/has_prefix, info/no_link. Their kinds come
 * from the archive as it is read: every path is a "hardlink" here, and one the archive holds as
 * a symlink is linked as a softlink.
 */
function fromLegacy(entries: Map<string, ArchiveEntry>): PathEntry[] {
  const text = (name: string) => entries.get(name)?.data.toString("utf8") ?? "";
  const lines = (name: string) => text(name).split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");
  const files = lines("info/files");
  const noLink = new Set([...lines("info/no_link"), ...lines("info/no_softlink")]);
  const prefixes = new Map<string, { placeholder: string; mode: "text" | "binary" }>();
  for (const line of lines("info/has_prefix")) {
    const f = splitHasPrefixLine(line);
    if (f.length === 1) prefixes.set(f[0]!, { placeholder: legacyPlaceholder, mode: "text" });
    else if (f.length === 3 && (f[1] === "text" || f[1] === "binary")) prefixes.set(f[2]!, { placeholder: f[0]!, mode: f[1] });
    else throw new MetadataError(`info/has_prefix: cannot read the line ${JSON.stringify(line)}`);
  }
  return files.map((path) => {
    const prefix = prefixes.get(path);
    return { path, pathType: "hardlink", fileMode: prefix?.mode, prefixPlaceholder: prefix?.placeholder, noLink: noLink.has(path) };
  });
}

function readIndex(entry: ArchiveEntry | undefined): IndexJson {
  const index = json<unknown>(entry, "info/index.json");
  if (typeof index !== "object" || index === null || Array.isArray(index)) throw new MetadataError("info/index.json is missing or not an object");
  const fields = index as Record<string, unknown>;
  for (const key of ["name", "version", "build"]) {
    if (typeof fields[key] !== "string" || fields[key] === "") throw new MetadataError(`info/index.json: "${key}" must be a non-empty string, not ${JSON.stringify(fields[key]) ?? "missing"}`);
  }
  optional<string>(fields.python_site_packages_path, "string", "info/index.json: python_site_packages_path");
  for (const key of ["depends", "constrains"]) {
    const list = fields[key];
    if (list !== undefined && list !== null && (!Array.isArray(list) || list.some((d) => typeof d !== "string"))) throw new MetadataError(`info/index.json: "${key}" must be a list of strings`);
  }
  return index as IndexJson;
}

function readEntryPoints(entry: ArchiveEntry | undefined): { type?: string; entryPoints: string[] } {
  const link = json<unknown>(entry, "info/link.json");
  if (link === undefined) return { entryPoints: [] };
  const noarch = typeof link === "object" && link !== null ? (link as { noarch?: unknown }).noarch : undefined;
  if (noarch === undefined || noarch === null) return { entryPoints: [] };
  if (typeof noarch !== "object" || Array.isArray(noarch)) throw new MetadataError(`info/link.json: "noarch" must be an object, not ${typeName(noarch)}`);
  const n = noarch as { type?: unknown; entry_points?: unknown };
  const type = optional<string>(n.type, "string", "info/link.json: noarch.type");
  const eps = n.entry_points ?? [];
  if (!Array.isArray(eps) || eps.some((e) => typeof e !== "string")) throw new MetadataError(`info/link.json: noarch.entry_points must be a list of strings`);
  return { type, entryPoints: eps as string[] };
}

export function readMetadata(entries: ArchiveEntry[]): PackageMetadata {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const index = readIndex(byPath.get("info/index.json"));
  const pathsJson = json<unknown>(byPath.get("info/paths.json"), "info/paths.json");
  if (pathsJson !== undefined && (typeof pathsJson !== "object" || pathsJson === null || Array.isArray(pathsJson))) throw new MetadataError(`info/paths.json must be an object, not ${typeName(pathsJson)}`);
  const paths = pathsJson ? fromPathsJson(pathsJson as PathsJson) : fromLegacy(byPath);
  const link = readEntryPoints(byPath.get("info/link.json"));
  const noarchRaw = index.noarch ?? link.type;
  const noarch = noarchRaw === "python" ? "python" : noarchRaw === true || noarchRaw === "generic" ? "generic" : undefined;
  return { index, paths, entryPoints: link.entryPoints, noarch };
}
