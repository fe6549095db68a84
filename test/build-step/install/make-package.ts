// Tiny synthetic conda packages for the installer's tests, built in memory from a description:
// the same content as a `.tar.bz2` (tar-stream + the system bzip2) and as a `.conda` (a ZIP of
// stored members, written here byte by byte, with zstd-compressed info/pkg tars), so that no
// fixture on disk is needed and every odd case (hostile names, legacy metadata, member order)
// can be produced on demand.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as zlib from "node:zlib";
import { zstdCompressSync } from "node:zlib";
import { pack } from "tar-stream";
import { zipStored } from "../../fixtures/channel/archive";

export interface FileSpec {
  /** Path inside the package (and in paths.json / info/files). */
  path: string;
  /** Contents of a regular file. */
  content?: string | Buffer;
  /** Makes the entry a symlink with this link text. */
  linkTarget?: string;
  /** Makes the entry a directory. */
  directory?: boolean;
  /** Archive mode; 0644 for files, 0755 for directories, 0777 for symlinks by default. */
  mode?: number;
  /** paths.json path_type; by default from the entry's kind. */
  pathType?: "hardlink" | "softlink" | "directory";
  prefixPlaceholder?: string;
  fileMode?: "text" | "binary";
  noLink?: boolean;
  /** Makes the archive's entry a hard link to this path (paths.json still lists a file with `content`'s hash). */
  hardlinkTo?: string;
  /** What paths.json claims the file holds (its sha256 and size), when that must differ from `content`. */
  claimedContent?: string | Buffer;
  /** paths.json's sha256 and size_in_bytes for a softlink (conda-build records its target's). */
  linkSha256?: string;
  linkSize?: number;
}

/** An archive entry written exactly as given (into the pkg part), listed nowhere. */
export interface RawEntry {
  name: string;
  /** "link": a hard link to the entry named by linkname. */
  type?: "file" | "symlink" | "directory" | "link";
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export interface PackageSpec {
  index: { name: string; version: string; build: string; [field: string]: unknown };
  files: FileSpec[];
  /** Write info/paths.json (default); false writes the legacy info/files, info/has_prefix, info/no_link. */
  pathsJson?: boolean;
  /** Legacy only: the exact text of info/has_prefix instead of one generated from the files. */
  hasPrefix?: string;
  /** info/link.json with noarch python entry points. */
  entryPoints?: string[];
  /** Files in the archive that neither paths.json nor info/files lists. */
  extra?: FileSpec[];
  /** Entries with hostile or odd names, written verbatim after the files. */
  raw?: RawEntry[];
  /** The entries' mtime, seconds. */
  mtime?: number;
  /** The archive's file name without extension, when it must differ from index.json's name-version-build. */
  archiveStem?: string;
}

export type Member = "metadata" | "info" | "pkg";

const buf = (c: string | Buffer | undefined) => (c === undefined ? Buffer.alloc(0) : typeof c === "string" ? Buffer.from(c) : c);
export const sha256Of = (b: Buffer) => createHash("sha256").update(b).digest("hex");
export const md5Of = (b: Buffer) => createHash("md5").update(b).digest("hex");

interface TarEntry {
  name: string;
  type: "file" | "symlink" | "directory" | "link";
  data?: Buffer;
  linkname?: string;
  mode: number;
  mtime: number;
}

export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on("data", (c: unknown) => chunks.push(c as Buffer));
    p.on("end", () => resolve());
    p.on("error", reject);
  });
  for (const e of entries) {
    const header = { name: e.name, type: e.type, mode: e.mode, mtime: new Date(e.mtime * 1000), uid: 0, gid: 0 };
    if (e.type === "symlink" || e.type === "link") p.entry({ ...header, linkname: e.linkname ?? "" });
    else if (e.type === "directory") p.entry(header);
    else p.entry(header, e.data ?? Buffer.alloc(0));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function kindOf(f: FileSpec): TarEntry["type"] {
  return f.linkTarget !== undefined ? "symlink" : f.directory ? "directory" : "file";
}

function entryOf(f: FileSpec, mtime: number): TarEntry {
  const type = kindOf(f);
  const mode = f.mode ?? (type === "symlink" ? 0o777 : type === "directory" ? 0o755 : 0o644);
  if (f.hardlinkTo !== undefined) return { name: f.path, type: "link", linkname: f.hardlinkTo, mode, mtime };
  return { name: f.path, type, data: type === "file" ? buf(f.content) : undefined, linkname: f.linkTarget, mode, mtime };
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The info/ folder's files: index.json, paths.json or the legacy lists, link.json. */
export function infoFiles(spec: PackageSpec): Map<string, Buffer> {
  const info = new Map<string, Buffer>();
  info.set("info/index.json", Buffer.from(JSON.stringify({ build_number: 0, depends: [], subdir: "linux-64", ...spec.index }, null, 2)));
  if (spec.pathsJson !== false) {
    const paths = spec.files.map((f) => {
      const kind = kindOf(f);
      const p: Record<string, unknown> = { _path: f.path, path_type: f.pathType ?? (kind === "symlink" ? "softlink" : kind === "directory" ? "directory" : "hardlink") };
      if (kind === "file") {
        const claimed = buf(f.claimedContent ?? f.content);
        p.sha256 = sha256Of(claimed);
        p.size_in_bytes = claimed.length;
      }
      if (f.prefixPlaceholder !== undefined) {
        p.prefix_placeholder = f.prefixPlaceholder;
        p.file_mode = f.fileMode ?? "text";
      }
      if (f.noLink) p.no_link = true;
      if (f.linkSha256 !== undefined) p.sha256 = f.linkSha256;
      if (f.linkSize !== undefined) p.size_in_bytes = f.linkSize;
      return p;
    });
    info.set("info/paths.json", Buffer.from(JSON.stringify({ paths_version: 1, paths }, null, 2)));
  } else {
    info.set("info/files", Buffer.from(spec.files.map((f) => f.path).join("\n") + "\n"));
    const hasPrefix = spec.hasPrefix ?? spec.files.filter((f) => f.prefixPlaceholder !== undefined).map((f) => `${quote(f.prefixPlaceholder!)} ${f.fileMode ?? "text"} ${quote(f.path)}\n`).join("");
    if (hasPrefix) info.set("info/has_prefix", Buffer.from(hasPrefix));
    const noLink = spec.files.filter((f) => f.noLink).map((f) => f.path + "\n").join("");
    if (noLink) info.set("info/no_link", Buffer.from(noLink));
  }
  if (spec.entryPoints) info.set("info/link.json", Buffer.from(JSON.stringify({ noarch: { type: "python", entry_points: spec.entryPoints }, package_metadata_version: 1 })));
  return info;
}

function parts(spec: PackageSpec): { info: TarEntry[]; pkg: TarEntry[] } {
  const mtime = spec.mtime ?? 1_700_000_000;
  const info = [...infoFiles(spec)].map(([name, data]) => ({ name, type: "file" as const, data, mode: 0o644, mtime }));
  const pkg = [...spec.files, ...(spec.extra ?? [])].map((f) => entryOf(f, mtime));
  for (const r of spec.raw ?? []) {
    const type = r.type ?? (r.linkname !== undefined ? "symlink" : "file");
    pkg.push({ name: r.name, type, data: type === "file" ? buf(r.content) : undefined, linkname: r.linkname, mode: r.mode ?? (type === "file" ? 0o644 : 0o755), mtime });
  }
  return { info, pkg };
}

export const stem = (spec: PackageSpec) => spec.archiveStem ?? `${spec.index.name}-${spec.index.version}-${spec.index.build}`;

/** The package as a `.tar.bz2`: one tar (info/ first), compressed by the system's bzip2. */
export async function tarBz2(spec: PackageSpec): Promise<Buffer> {
  const { info, pkg } = parts(spec);
  const tar = await tarOf([...info, ...pkg]);
  return execFileSync("bzip2", ["-c", "-9"], { input: tar, maxBuffer: 64 << 20 });
}

/** A ZIP whose members are stored (method 0), in the order given: the fixture channel's writer. */
export const storedZip = zipStored;

export async function dotConda(spec: PackageSpec, order: Member[] = ["metadata", "info", "pkg"], zstdOptions?: zlib.ZstdOptions): Promise<Buffer> {
  const { info, pkg } = parts(spec);
  const s = stem(spec);
  const byMember: Record<Member, { name: string; data: Buffer }> = {
    metadata: { name: "metadata.json", data: Buffer.from(JSON.stringify({ conda_pkg_format_version: 2 })) },
    info: { name: `info-${s}.tar.zst`, data: zstdCompressSync(await tarOf(info), zstdOptions) },
    pkg: { name: `pkg-${s}.tar.zst`, data: zstdCompressSync(await tarOf(pkg), zstdOptions) },
  };
  return storedZip(order.map((m) => byMember[m]));
}

export type Format = "tar.bz2" | "conda";

export interface WrittenPackage {
  path: string;
  filename: string;
  url: string;
  sha256: string;
  md5: string;
  bytes: Buffer;
}

/** Writes the package into `dir` in the given format; returns where, and its real hashes. */
export async function writePackage(dir: string, spec: PackageSpec, format: Format = "conda", order?: Member[]): Promise<WrittenPackage> {
  const bytes = format === "conda" ? await dotConda(spec, order) : await tarBz2(spec);
  const filename = `${stem(spec)}.${format}`;
  const path = join(dir, `${order ? order.join("-") + "-" : ""}${filename}`);
  writeFileSync(path, bytes);
  const subdir = typeof spec.index.subdir === "string" ? spec.index.subdir : spec.index.noarch ? "noarch" : "linux-64";
  return { path, filename, url: `https://conda.example.org/test-channel/${subdir}/${filename}`, sha256: sha256Of(bytes), md5: md5Of(bytes), bytes };
}
