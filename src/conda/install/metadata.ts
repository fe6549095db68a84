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
  paths_version?: number;
  paths?: { _path: string; path_type?: string; sha256?: string; size_in_bytes?: number; file_mode?: string; prefix_placeholder?: string; no_link?: boolean }[];
}

function fromPathsJson(doc: PathsJson): PathEntry[] {
  if (doc.paths_version !== 1) throw new MetadataError(`info/paths.json: unsupported paths_version ${JSON.stringify(doc.paths_version)}`);
  return (doc.paths ?? []).map((p) => {
    const pathType = (p.path_type ?? "hardlink") as PathEntry["pathType"];
    if (!["hardlink", "softlink", "directory"].includes(pathType)) throw new MetadataError(`info/paths.json: unknown path_type ${JSON.stringify(p.path_type)} for ${p._path}`);
    const fileMode = p.prefix_placeholder ? ((p.file_mode ?? "text") as "text" | "binary") : undefined;
    if (fileMode && fileMode !== "text" && fileMode !== "binary") throw new MetadataError(`info/paths.json: unknown file_mode ${JSON.stringify(p.file_mode)} for ${p._path}`);
    return { path: p._path, pathType, sha256: p.sha256, size: p.size_in_bytes, fileMode, prefixPlaceholder: p.prefix_placeholder || undefined, noLink: p.no_link === true };
  });
}

/** Packages from before paths.json: info/files, info/has_prefix, info/no_link; types from the archive. */
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
    const entry = entries.get(path);
    const pathType = entry?.type === "symlink" ? "softlink" : entry?.type === "directory" ? "directory" : "hardlink";
    const prefix = prefixes.get(path);
    return { path, pathType, fileMode: prefix?.mode, prefixPlaceholder: prefix?.placeholder, noLink: noLink.has(path) };
  });
}

export function readMetadata(entries: ArchiveEntry[]): PackageMetadata {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const index = json<IndexJson>(byPath.get("info/index.json"), "info/index.json");
  if (!index || !index.name || !index.version || index.build === undefined) throw new MetadataError("info/index.json is missing or lacks name, version or build");
  const pathsJson = json<PathsJson>(byPath.get("info/paths.json"), "info/paths.json");
  const paths = pathsJson ? fromPathsJson(pathsJson) : fromLegacy(byPath);
  const link = json<{ noarch?: { type?: string; entry_points?: string[] } }>(byPath.get("info/link.json"), "info/link.json");
  const noarchRaw = index.noarch ?? link?.noarch?.type;
  const noarch = noarchRaw === "python" ? "python" : noarchRaw === true || noarchRaw === "generic" ? "generic" : undefined;
  return { index, paths, entryPoints: link?.noarch?.entry_points ?? [], noarch };
}
