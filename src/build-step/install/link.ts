// Linking one package into a prefix under an output root, from the stream of its archive's
// entries: every path paths.json lists, placed (noarch python mapping), patched (prefix
// placeholders), with a safe mode, softlinks re-created, and nothing written outside the prefix.
// Returns what conda-meta records.
import { createHash } from "node:crypto";
import { chmodSync, closeSync, constants, copyFileSync, fchmodSync, fstatSync, futimesSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync, readSync, rmSync, symlinkSync, utimesSync, writeSync } from "node:fs";
import { join, posix } from "node:path";
import { joined } from "./archive";
import { isElf, neededLibraries } from "./elf";
import type { PackageMetadata, PathEntry } from "./metadata";
import { fileAccess } from "./random-access";
import type { EntrySink, TarHeader } from "./tar";
import { entryPointScript, noarchPythonPath, parseEntryPoint, type PythonInfo } from "./noarch";
import { replaceBinary, replaceText } from "./prefix";
import type { Pruner } from "../../conda/prune/rules";

export class LinkError extends Error {}

/** Folders are 0755 whatever the umask: a world-writable prefix would let any user of the image change it. */
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


/**
 * The mode a file is written with: the archive's, without setuid, setgid and sticky bits and
 * without group and other write (what conda's umask 022 and tar's --no-same-permissions give).
 * conda-forge builds with umask 002, so most of its files say 0664/0775; a package may also say
 * 04755 or 0666, and the image runs as a user who must not be able to use or change either.
 */
export function safeMode(mode: number): number {
  return mode & 0o755;
}

/** How a mode was made safe, for the step's log: special bits, world write, group write. */
export interface ModeChange {
  path: string;
  from: number;
  to: number;
}

/** The largest file patched in memory (its prefix replaced); real ones are libraries of tens of MB. */
export const maxPatchedFile = 1024 * 1024 * 1024;

/** A library file name, as DT_NEEDED names them (libz.so.1, libpython3.12.so.1.0). */
const sharedLibrary = /\.so(\.[0-9.]+)?$/;

/** The process's umask: a mode it takes bits from needs a chmod after the create. */
const umask = (() => {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
})();

/**
 * One file being written from its chunks; hashed as it goes when paths.json has no sha256 for
 * it. With one, conda records that as the file's sha256_in_prefix without hashing the file (its
 * bytes come from an archive whose own hash was verified), and so do we: hashing every file cost
 * ~24 ms of ~145 for CPython's 27 MB.
 */
class FileWriter {
  private fd = -1;
  private readonly hash;
  private head: Buffer = Buffer.alloc(0);
  written = 0;

  constructor(
    readonly full: string,
    private readonly mode: number,
    private readonly mtime: number,
    hash: boolean,
  ) {
    this.hash = hash ? createHash("sha256") : undefined;
    replacing(full, () => (this.fd = openSync(full, "wx", mode)));
  }

  write(chunk: Buffer): void {
    if (this.head.length < 4) this.head = this.head.length ? Buffer.concat([this.head, chunk.subarray(0, 4 - this.head.length)]) : chunk.subarray(0, 4);
    for (let at = 0; at < chunk.length; ) at += writeSync(this.fd, chunk, at, chunk.length - at);
    this.hash?.update(chunk);
    this.written += chunk.length;
  }

  /** Closes the file with its mode (whatever the umask) and time; returns its sha256 if hashed. */
  close(): { sha256?: string; elf: boolean } {
    try {
      if (this.mode & umask) fchmodSync(this.fd, this.mode);
      futimesSync(this.fd, this.mtime, this.mtime);
    } finally {
      closeSync(this.fd);
    }
    return { sha256: this.hash?.digest("hex"), elf: isElf(this.head) };
  }

  /** Gives up: closes and removes what was written (an error is on its way). */
  abandon(): void {
    closeSync(this.fd);
    rmSync(this.full, { force: true });
  }
}

/** The sha256 of a file on disk, read a chunk at a time. */
function hashFile(full: string): string {
  const hash = createHash("sha256");
  const fd = openSync(full, "r");
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** A file written from bytes held in memory (prefix-patched files, entry points, hard links). */
function writeWhole(full: string, data: Uint8Array, mode: number, mtime: number): void {
  let fd = -1;
  replacing(full, () => (fd = openSync(full, "wx", mode)));
  try {
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    fchmodSync(fd, mode);
    futimesSync(fd, mtime, mtime);
  } finally {
    closeSync(fd);
  }
}

/** A file written as the archive has it: what a hard link to it copies. */
interface PlainFile {
  full: string;
  /** The archive's mode (made safe when written). */
  mode: number;
  sha256: string;
  size: number;
  elf: boolean;
}

interface Listed {
  entry: PathEntry;
  /** Its place in paths.json: records keep that order, as conda's do. */
  index: number;
  /** Where it goes, relative to the prefix (noarch python placed). */
  rel: string;
}

/**
 * Links one package from a stream of its archive's entries: `onEntry` is given every entry
 * outside info/, in archive order, and writes those paths.json lists; `finish` checks nothing
 * listed is missing and returns what conda-meta records. Memory holds one chunk, or one file
 * when its prefix must be patched. Hard links to a file that was not written as it is (patched,
 * pruned) are left for a second read: `wantedSources` names them, `linkFromSources` writes them.
 */
export class PackageLinker {
  private readonly root: string;
  private readonly name: string;
  private readonly listed = new Map<string, Listed>();
  private readonly records: (PathRecord | undefined)[] = [];
  private readonly seen = new Set<number>();
  private readonly realDirs = new Set<string>();
  private readonly place = placer();
  /** Archive path -> where it was written unchanged, and its archive mode: hard links copy it. */
  private readonly plain = new Map<string, PlainFile>();
  private readonly pendingLinks: { header: TarHeader; listed: Listed }[] = [];
  /** Libraries a prune rule removes, written anyway until the package's ELF files have been read. */
  private readonly prunedLibraries: { listed: Listed; glob: string; bytes: number }[] = [];
  private readonly elfFiles: string[] = [];
  private readonly archiveDirectories: string[] = [];
  readonly modeChanges: ModeChange[] = [];
  readonly warnings: string[] = [];
  private bytes = 0;
  /** Bytes written per listed file, by its index. */
  private readonly written = new Map<number, number>();
  private readonly scripts: string[] = [];
  private readonly pruned: LinkResult["pruned"] = {};

  constructor(
    private readonly meta: PackageMetadata,
    private readonly opts: LinkOptions,
  ) {
    this.name = meta.index.name;
    this.root = join(opts.outRoot, opts.prefix);
    mkdirSync(this.root, { recursive: true, mode: dirMode });
    if (meta.noarch === "python" && !opts.python) throw new LinkError(`${this.name} is a noarch: python package, but the environment has no python`);
    meta.paths.forEach((entry, index) => {
      const source = safeRelativePath(entry.path, this.name);
      const rel = safeRelativePath(meta.noarch === "python" ? noarchPythonPath(source, opts.python!) : source, this.name);
      const listed = { entry, index, rel };
      this.listed.set(source, listed);
    });
  }

  private tally(glob: string, bytes: number): void {
    const t = (this.pruned[glob] ??= { files: 0, bytes: 0 });
    t.files++;
    t.bytes += bytes;
  }

  private safe(rel: string, mode: number): number {
    const to = safeMode(mode);
    if (to !== mode) this.modeChanges.push({ path: rel, from: mode, to });
    return to;
  }

  /**
   * The handler for the archive's entries outside info/ (see readPackageFiles): finds the entry
   * in paths.json, checks its way into the prefix, then places it by what the archive has there.
   */
  readonly onEntry = (h: TarHeader): EntrySink | undefined => {
    const source = safeRelativePath(h.path, this.name); // refuse a bad archive even for unlisted entries
    const listed = this.listed.get(source);
    if (!listed) return undefined;
    const { entry: p, rel, index } = listed;
    if (p.pathType === "directory") return undefined; // made in finish()
    this.seen.add(index);
    checkParents(this.root, rel, this.name, this.realDirs);
    if (h.type === "directory") {
      // An old package's info/files may list a folder.
      mkdirSync(join(this.root, rel), { recursive: true, mode: dirMode });
      this.archiveDirectories.push(rel);
      return undefined;
    }
    if (this.leftOutByPrune(h, listed)) return undefined;
    const full = this.place(this.root, rel);
    if (h.type === "symlink") {
      this.writeSymlink(h, listed, full);
      return undefined;
    }
    if (p.pathType === "softlink") throw new LinkError(`${this.name}: info/paths.json lists ${JSON.stringify(p.path)} as a softlink, but the archive has a ${h.type === "hardlink" ? "hard link" : "file"} there`);
    if (h.type === "hardlink") {
      this.writeHardLink(h, listed);
      return undefined;
    }
    if (p.prefixPlaceholder) return this.patchedFileSink(h, listed);
    return this.plainFileSink(h, listed, source, full);
  };

  /**
   * Whether a prune rule leaves the entry out here and now. A shared library it matches is
   * written all the same and decided in finish(): a program of the package may need it.
   */
  private leftOutByPrune(h: TarHeader, listed: Listed): boolean {
    const glob = this.opts.pruner?.removedBy(listed.rel);
    if (!glob) return false;
    if (h.type === "symlink" || !sharedLibrary.test(listed.rel)) {
      this.tally(glob, h.size);
      this.records[listed.index] = undefined;
      return true;
    }
    this.prunedLibraries.push({ listed, glob, bytes: h.size });
    return false;
  }

  /** The same link text, relative or absolute; never followed. */
  private writeSymlink(h: TarHeader, listed: Listed, full: string): void {
    const { entry: p, rel } = listed;
    replacing(full, () => symlinkSync(h.linkname ?? "", full));
    this.realDirs.delete(rel);
    lutimesSync(full, h.mtime, h.mtime);
    this.records[listed.index] = { _path: rel, path_type: "softlink", ...(p.sha256 ? { sha256: p.sha256 } : {}), ...(p.size !== undefined ? { size_in_bytes: p.size } : {}) };
    this.done(rel);
  }

  /**
   * A hard link: a copy of its target when that was written as the archive has it, else left
   * for linkFromSources (the target is patched, pruned, or comes later in the archive).
   */
  private writeHardLink(h: TarHeader, listed: Listed): void {
    const target = safeRelativePath(h.linkname ?? "", this.name);
    // What was written there may since have been replaced (by a symlink, say): never follow one.
    const found = this.plain.get(target);
    const written = found && lstatSync(found.full, { throwIfNoEntry: false })?.isFile() ? found : undefined;
    if (!written) this.pendingLinks.push({ header: { ...h, linkname: target }, listed });
    else if (listed.entry.prefixPlaceholder) this.writeBytes(listed, readFileSync(written.full), written.mode, h.mtime);
    else this.copyPlain(listed, written, h.mtime);
  }

  /** A file whose prefix is replaced: held whole, since text replacement may change its length. */
  private patchedFileSink(h: TarHeader, listed: Listed): EntrySink {
    if (h.size > maxPatchedFile) throw new LinkError(`${this.name}: ${listed.rel} is ${h.size} bytes and paths.json marks it for prefix replacement, which needs it in memory: more than ${maxPatchedFile} bytes is refused`);
    const parts: Buffer[] = [];
    return { data: (c) => void parts.push(c), end: () => this.writeBytes(listed, joined(parts), h.mode, h.mtime) };
  }

  /**
   * A file written as the archive has it, chunk by chunk (the installer's hot path: most bytes
   * go through here). Remembered in `plain` for hard links to copy.
   */
  private plainFileSink(h: TarHeader, listed: Listed, source: string, full: string): EntrySink {
    const p = listed.entry;
    const writer = new FileWriter(full, this.safe(listed.rel, h.mode), h.mtime, !p.sha256);
    return {
      data: (chunk) => {
        try {
          writer.write(chunk);
        } catch (e) {
          writer.abandon();
          throw e;
        }
      },
      end: () => {
        const closed = writer.close();
        // paths.json's hash stands for the file only when its size does too.
        const sha256 = closed.sha256 ?? (p.size === undefined || p.size === writer.written ? p.sha256! : hashFile(full));
        if (closed.elf) this.elfFiles.push(full);
        this.plain.set(source, { full, mode: h.mode, sha256, size: writer.written, elf: closed.elf });
        this.record(listed, { sha256: closed.sha256, size: writer.written }, { sha256, size: writer.written });
      },
    };
  }

  private done(rel: string): void {
    if (/^bin\/\.[^/]+-(post-link|pre-unlink|pre-link)\.sh$/.test(rel)) this.scripts.push(rel);
  }

  /**
   * The record of a regular file: paths.json's fields (conda copies them), and the hash of the
   * bytes in the prefix. `original`: the archive's bytes (their hash unknown when patched).
   */
  private record(listed: Listed, original: { sha256?: string; size: number }, inPrefix: { sha256: string; size: number }, patched?: { placeholder: string; mode: "text" | "binary" }): void {
    const p = listed.entry;
    if (p.size !== undefined && p.size !== original.size) this.warnings.push(`${listed.rel}: info/paths.json says ${p.size} bytes, the archive has ${original.size}`);
    else if (p.sha256 && original.sha256 && p.sha256 !== original.sha256) this.warnings.push(`${listed.rel}: info/paths.json says sha256 ${p.sha256}, the archive's file is ${original.sha256}`);
    this.records[listed.index] = {
      _path: listed.rel,
      path_type: "hardlink",
      sha256: p.sha256 ?? original.sha256,
      size_in_bytes: p.size ?? original.size,
      ...(patched ? { file_mode: patched.mode, prefix_placeholder: patched.placeholder } : {}),
      sha256_in_prefix: inPrefix.sha256,
    };
    this.written.set(listed.index, inPrefix.size);
    this.bytes += inPrefix.size;
    this.done(listed.rel);
  }

  /** A hard link to a file written as it is: a copy of it (the kernel's, not through memory). */
  private copyPlain(listed: Listed, source: PlainFile, mtime: number): void {
    const full = this.place(this.root, listed.rel);
    replacing(full, () => copyFileSync(source.full, full, constants.COPYFILE_EXCL));
    chmodSync(full, this.safe(listed.rel, source.mode));
    utimesSync(full, mtime, mtime);
    if (source.elf) this.elfFiles.push(full);
    this.record(listed, { sha256: source.sha256, size: source.size }, { sha256: source.sha256, size: source.size });
  }

  /** A file whose bytes are in memory: patched if paths.json says so, then written. */
  private writeBytes(listed: Listed, original: Buffer, mode: number, mtime: number): void {
    const p = listed.entry;
    const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    let data = original;
    let patched: { placeholder: string; mode: "text" | "binary" } | undefined;
    if (p.prefixPlaceholder) {
      const fileMode = p.fileMode ?? "text";
      data = fileMode === "binary" ? replaceBinary(original, p.prefixPlaceholder, this.opts.prefix, listed.rel) : replaceText(original, p.prefixPlaceholder, this.opts.prefix);
      patched = { placeholder: p.prefixPlaceholder, mode: fileMode };
    }
    const full = this.place(this.root, listed.rel);
    writeWhole(full, data, this.safe(listed.rel, mode), mtime);
    if (isElf(data)) this.elfFiles.push(full);
    const inPrefix = { sha256: sha256(data), size: data.length };
    // The archive's hash is needed only when paths.json lacks it (old packages).
    const originalHash = data === original ? inPrefix.sha256 : p.sha256 ? undefined : sha256(original);
    this.record(listed, { sha256: originalHash, size: original.length }, inPrefix, patched);
  }

  /** Archive paths of hard-link targets not written as they are: read them again, then linkFromSources. */
  wantedSources(): Set<string> {
    return new Set(this.pendingLinks.map((l) => l.header.linkname!));
  }

  /** Writes the pending hard links from their targets' bytes (as in the archive). */
  linkFromSources(sources: Map<string, { data: Buffer; mode: number }>): void {
    for (const { header, listed } of this.pendingLinks.splice(0)) {
      const source = sources.get(header.linkname!);
      if (!source) throw new LinkError(`${this.name}: ${listed.entry.path} is a hard link to ${JSON.stringify(header.linkname)}, which the archive does not contain`);
      this.writeBytes(listed, source.data, source.mode, header.mtime);
    }
  }

  /** After the last entry: folders, entry points, the prune decisions that waited, the records. */
  finish(): LinkResult {
    if (this.pendingLinks.length) throw new Error("PackageLinker.finish before linkFromSources");
    const directories = [...this.archiveDirectories];
    for (const { entry: p, rel, index } of this.listed.values()) {
      if (p.pathType === "directory") {
        checkParents(this.root, rel, this.name, this.realDirs);
        mkdirSync(join(this.root, rel), { recursive: true, mode: dirMode });
        directories.push(rel);
      } else if (!this.seen.has(index)) {
        throw new LinkError(`${this.name}: info/paths.json lists ${JSON.stringify(p.path)}, but the archive does not contain it`);
      }
    }
    this.prunePendingLibraries();
    const paths = this.records.filter((r): r is PathRecord => r !== undefined);
    const files = paths.map((r) => r._path);
    if (this.meta.noarch === "python") this.writeEntryPoints(files, paths);
    return { files, directories, bytes: this.bytes, paths, scripts: this.scripts, pruned: this.pruned };
  }

  /**
   * Removes the libraries a prune rule matched unless a program or library of this package
   * needs them. An ELF file that cannot be read might need any of them: all are kept.
   */
  private prunePendingLibraries(): void {
    if (!this.prunedLibraries.length) return;
    const needed = new Set<string>();
    for (const full of this.elfFiles) {
      const fd = openSync(full, "r");
      try {
        const names = neededLibraries(fileAccess(fd, fstatSync(fd).size));
        if (names === undefined) {
          this.warnings.push(`${full.slice(this.root.length + 1)}: cannot read its ELF headers, so no library of ${this.name} is pruned`);
          return;
        }
        for (const n of names) needed.add(n);
      } finally {
        closeSync(fd);
      }
    }
    for (const { listed, glob, bytes } of this.prunedLibraries) {
      if (needed.has(posix.basename(listed.rel)) || this.records[listed.index] === undefined) continue;
      rmSync(join(this.root, listed.rel), { force: true });
      this.bytes -= this.written.get(listed.index) ?? 0;
      this.records[listed.index] = undefined;
      this.tally(glob, bytes);
    }
  }

  private writeEntryPoints(files: string[], paths: PathRecord[]): void {
    for (const spec of this.meta.entryPoints) {
      const ep = parseEntryPoint(spec);
      const rel = `bin/${ep.command}`;
      const glob = this.opts.pruner?.removedBy(rel);
      if (glob) {
        this.tally(glob, 0);
        continue;
      }
      checkParents(this.root, rel, this.name, this.realDirs);
      const full = this.place(this.root, rel);
      const script = Buffer.from(entryPointScript(ep, this.opts.prefix, this.opts.python!));
      writeWhole(full, script, 0o755, this.opts.epoch);
      this.bytes += script.length;
      files.push(rel);
      paths.push({ _path: rel, path_type: "unix_python_entry_point", sha256: createHash("sha256").update(script).digest("hex"), size_in_bytes: script.length });
    }
  }
}
