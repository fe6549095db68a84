// Linking one package into a prefix under an output root: every path paths.json lists, placed
// (noarch python mapping), patched (prefix placeholders), with its mode, softlinks re-created,
// and nothing written outside the prefix. Returns what conda-meta records.
import { createHash } from "node:crypto";
import { closeSync, fchmodSync, futimesSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, writeSync } from "node:fs";
import { join, posix } from "node:path";
import type { ArchiveEntry } from "./archive";
import { isElf, neededLibraries } from "./elf";
import type { PackageMetadata } from "./metadata";
import { entryPointScript, noarchPythonPath, parseEntryPoint, type PythonInfo } from "./noarch";
import { replaceBinary, replaceText } from "./prefix";
import type { Pruner } from "../prune/rules";

export class LinkError extends Error {}

/**
 * Folders are 0755 whatever the umask: a world-writable prefix would let any user of the image
 * change it. (Files get the archive's modes: chmod only where the umask took a bit away.)
 */
export const dirMode = 0o755;

export interface PathRecord {
  _path: string;
  path_type: string;
  sha256?: string;
  size_in_bytes?: number;
  file_mode?: "text" | "binary";
  prefix_placeholder?: string;
  sha256_in_prefix?: string;
}

export interface LinkResult {
  files: string[];
  /** Folders paths.json lists as such (path_type directory), made even when empty. */
  directories: string[];
  /** Bytes of the regular files written (links count none). */
  bytes: number;
  paths: PathRecord[];
  /** Paths of post-link / pre-unlink scripts the package ships (never run here). */
  scripts: string[];
  /** Bytes not written, by prune rule. */
  pruned: Record<string, { files: number; bytes: number }>;
}

export interface LinkOptions {
  /** Where the prefix's files go: outRoot + prefix. */
  outRoot: string;
  prefix: string;
  python?: PythonInfo;
  /** Seconds: the time given to directories and generated files (SOURCE_DATE_EPOCH or 0). */
  epoch: number;
  /** Paths not to write at all (image.prune); bytes left out are counted per rule. */
  pruner?: Pruner;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * Anything that makes a path not a plain relative one: a leading or doubled or trailing slash, a
 * "." or ".." segment, a NUL or a backslash. Most paths have none, and skip normalising.
 */
const irregularPath = /^\/|\/\/|\/$|(^|\/)\.\.?(\/|$)|\0|\\/;

/** A relative path that stays inside the prefix, or an error. */
export function safeRelativePath(path: string, packageName: string): string {
  if (path !== "" && !irregularPath.test(path)) return path;
  if (path === "" || path.startsWith("/") || path.includes("\0") || path.includes("\\")) {
    throw new LinkError(`${packageName}: refusing the path ${JSON.stringify(path)}: it must be relative to the prefix`);
  }
  const normal = posix.normalize(path);
  if (normal === ".." || normal.startsWith("../") || path.split("/").includes("..")) {
    throw new LinkError(`${packageName}: refusing the path ${JSON.stringify(path)}: it leaves the prefix`);
  }
  return normal.replace(/\/+$/, "");
}

/**
 * No directory on the way to `rel` may be a symlink: that is how an archive escapes its root.
 * `known` holds folders (relative to `root`) already found to be real ones: a package has
 * hundreds of files per folder, so most calls end at the first lookup.
 */
export function checkParents(root: string, rel: string, packageName: string, known: Set<string> = new Set()): void {
  const slash = rel.lastIndexOf("/");
  if (slash < 0 || known.has(rel.slice(0, slash))) return;
  let end = rel.indexOf("/");
  while (end > 0) {
    const dir = rel.slice(0, end);
    if (!known.has(dir)) {
      let st;
      try {
        // Without throwing for a folder not made yet (the first file of every folder): an
        // exception costs more than the lstat.
        st = lstatSync(`${root}/${dir}`, { throwIfNoEntry: false });
      } catch {
        return; // unreadable: mkdir reports it
      }
      if (!st) return; // not created yet: nothing to follow
      if (st.isSymbolicLink()) throw new LinkError(`${packageName}: refusing ${JSON.stringify(rel)}: it goes through the symlink ${JSON.stringify(dir)}`);
      known.add(dir);
    }
    end = rel.indexOf("/", end + 1);
  }
}

/** Creates `full` with `create`; an existing entry there (file or symlink) is removed first, never written through. */
function replacing(full: string, create: () => void): void {
  try {
    create();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    rmSync(full, { force: true, recursive: false });
    create();
  }
}

/**
 * Writes a new file with the archive's mode and time, all through one descriptor ("wx": never
 * through an existing symlink; replacing() removes what is there first). `chmod`: the umask took
 * a bit of `mode` away.
 */
function writeFile(full: string, data: Uint8Array, mode: number, chmod: boolean, mtime: number): void {
  let fd = -1;
  replacing(full, () => (fd = openSync(full, "wx", mode)));
  try {
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    if (chmod) fchmodSync(fd, mode);
    futimesSync(fd, mtime, mtime);
  } finally {
    closeSync(fd);
  }
}

function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

/** Makes the destination's folder (once per folder). */
function placer(): (root: string, rel: string) => string {
  const made = new Set<string>();
  return (root, rel) => {
    // rel is already normal (safeRelativePath): plain concatenation, not path.join, per file.
    const full = `${root}/${rel}`;
    const dir = full.slice(0, full.lastIndexOf("/"));
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: dirMode });
      made.add(dir);
    }
    return full;
  };
}

/** The DT_NEEDED names of every ELF file in the package. */
function neededByPackage(entries: ArchiveEntry[]): Set<string> {
  const out = new Set<string>();
  for (const e of entries) if (e.type === "file" && isElf(e.data)) for (const n of neededLibraries(e.data)) out.add(n);
  return out;
}

export function linkPackage(entries: ArchiveEntry[], meta: PackageMetadata, opts: LinkOptions): LinkResult {
  const name = meta.index.name;
  const root = join(opts.outRoot, opts.prefix);
  mkdirSync(root, { recursive: true, mode: dirMode });
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const e of entries) safeRelativePath(e.path, name); // refuse a bad archive even for unlisted entries
  if (meta.noarch === "python" && !opts.python) throw new LinkError(`${name} is a noarch: python package, but the environment has no python`);
  const files: string[] = [];
  const directories: string[] = [];
  let bytes = 0;
  const paths: PathRecord[] = [];
  const scripts: string[] = [];
  const pruned: LinkResult["pruned"] = {};
  // A library a program of this package needs is never pruned, whatever the rules say.
  const needed = opts.pruner ? neededByPackage(entries) : new Set<string>();
  const prunedBy = (rel: string, bytes: number): boolean => {
    const glob = opts.pruner?.removedBy(rel);
    if (!glob || needed.has(posix.basename(rel))) return false;
    const tally = (pruned[glob] ??= { files: 0, bytes: 0 });
    tally.files++;
    tally.bytes += bytes;
    return true;
  };
  const place = placer();
  const umask = currentUmask();
  const realDirs = new Set<string>();

  for (const p of meta.paths) {
    const source = safeRelativePath(p.path, name);
    const rel = safeRelativePath(meta.noarch === "python" ? noarchPythonPath(source, opts.python!) : source, name);
    checkParents(root, rel, name, realDirs);
    if (p.pathType === "directory") {
      mkdirSync(join(root, rel), { recursive: true, mode: dirMode });
      directories.push(rel);
      continue;
    }
    const entry = byPath.get(p.path) ?? byPath.get(source);
    if (!entry) throw new LinkError(`${name}: info/paths.json lists ${JSON.stringify(p.path)}, but the archive does not contain it`);
    if (prunedBy(rel, entry.data.length)) continue;
    const full = place(root, rel);
    const record: PathRecord = { _path: rel, path_type: p.pathType };
    if (p.pathType === "softlink" || entry.type === "symlink") {
      // The same link text, relative or absolute; never followed.
      replacing(full, () => symlinkSync(entry.linkname ?? "", full));
      realDirs.delete(rel);
      lutimesSync(full, entry.mtime, entry.mtime);
      record.path_type = "softlink";
    } else {
      let data = entry.data;
      if (entry.type === "hardlink") {
        const target = byPath.get(entry.linkname ?? "");
        if (!target) throw new LinkError(`${name}: ${p.path} is a hard link to ${JSON.stringify(entry.linkname)}, which the archive does not contain`);
        data = target.data;
      }
      record.sha256 = p.sha256 ?? sha256(data);
      record.size_in_bytes = p.size ?? data.length;
      if (p.prefixPlaceholder) {
        const patched = p.fileMode === "binary" ? replaceBinary(data, p.prefixPlaceholder, opts.prefix, rel) : replaceText(data, p.prefixPlaceholder, opts.prefix);
        record.file_mode = p.fileMode ?? "text";
        record.prefix_placeholder = p.prefixPlaceholder;
        record.sha256_in_prefix = sha256(patched);
        data = patched;
      }
      const mode = (entry.type === "hardlink" ? byPath.get(entry.linkname ?? "")?.mode : entry.mode) ?? 0o644;
      writeFile(full, data, mode & 0o7777, (mode & 0o7777 & umask) !== 0, entry.mtime);
      bytes += data.length;
    }
    if (/^bin\/\.[^/]+-(post-link|pre-unlink|pre-link)\.sh$/.test(rel)) scripts.push(rel);
    files.push(rel);
    paths.push(record);
  }

  if (meta.noarch === "python") {
    for (const spec of meta.entryPoints) {
      const ep = parseEntryPoint(spec);
      const rel = `bin/${ep.command}`;
      if (prunedBy(rel, 0)) continue;
      checkParents(root, rel, name, realDirs);
      const full = place(root, rel);
      const script = Buffer.from(entryPointScript(ep, opts.prefix, opts.python!));
      writeFile(full, script, 0o775, true, opts.epoch); // 0775 whatever the umask
      bytes += script.length;
      files.push(rel);
      paths.push({ _path: rel, path_type: "unix_python_entry_point", sha256: sha256(script), size_in_bytes: script.length });
    }
  }
  return { files, directories, bytes, paths, scripts, pruned };
}
