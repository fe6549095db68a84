// Reading conda package archives into memory: `.conda` (a ZIP of stored members: metadata.json,
// info-*.tar.zst, pkg-*.tar.zst) and `.tar.bz2` (one bzip2 tar). Told apart by magic bytes, not
// by name. The result is a flat list of entries; nothing touches the disk here.
import { zstdDecompressSync } from "node:zlib";
import Bunzip from "seek-bzip";
import { extract } from "tar-stream";

export type EntryType = "file" | "symlink" | "directory" | "hardlink";

export interface ArchiveEntry {
  /** Path as stored, without a leading "./". */
  path: string;
  type: EntryType;
  mode: number;
  data: Buffer;
  /** Link target for symlinks and hard links. */
  linkname?: string;
  /** Modification time from the archive, seconds. */
  mtime: number;
}

export class ArchiveError extends Error {}

export function archiveFormat(bytes: Buffer): "conda" | "tar.bz2" {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50) return "conda";
  if (bytes.length >= 3 && bytes.toString("latin1", 0, 3) === "BZh") return "tar.bz2";
  throw new ArchiveError("not a conda package: neither a .conda (ZIP) nor a .tar.bz2 (bzip2) archive");
}

export async function readTar(tar: Buffer): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        const type = header.type === "symlink" ? "symlink" : header.type === "directory" ? "directory" : header.type === "link" ? "hardlink" : header.type === "file" || header.type === "contiguous-file" ? "file" : undefined;
        if (type) {
          entries.push({
            path: header.name.replace(/^(\.\/)+/, "").replace(/\/+$/, ""),
            type,
            mode: header.mode ?? 0o644,
            data: Buffer.concat(chunks),
            linkname: header.linkname ?? undefined,
            mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
          });
        }
        next();
      });
      stream.resume();
    });
    ex.on("finish", () => resolve());
    ex.on("error", (e: Error) => reject(new ArchiveError(`corrupt tar: ${e.message}`)));
  });
  ex.end(tar);
  await done;
  return entries;
}

interface ZipMember {
  name: string;
  data: Buffer;
}

/** The members of a ZIP whose members are stored (as .conda requires), via the central directory. */
export function readStoredZip(zip: Buffer): ZipMember[] {
  const eocdSig = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === eocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ArchiveError("corrupt .conda: no ZIP end-of-central-directory record");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const members: ZipMember[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new ArchiveError("corrupt .conda: bad central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (method !== 0) throw new ArchiveError(`corrupt .conda: member ${name} is compressed (method ${method}); .conda members are stored`);
    if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new ArchiveError(`corrupt .conda: bad local header for ${name}`);
    const localName = zip.readUInt16LE(localOffset + 26);
    const localExtra = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localName + localExtra;
    members.push({ name, data: zip.subarray(start, start + compressedSize) });
  }
  return members;
}

/** Every entry of a package, info/ included, whatever the format. */
export async function readPackage(bytes: Buffer): Promise<ArchiveEntry[]> {
  if (archiveFormat(bytes) === "tar.bz2") {
    let tar: Buffer;
    try {
      tar = Bunzip.decode(bytes);
    } catch (e) {
      throw new ArchiveError(`corrupt .tar.bz2: ${(e as Error).message}`);
    }
    return readTar(tar);
  }
  const members = readStoredZip(bytes);
  const info = members.find((m) => /^info-.*\.tar\.zst$/.test(m.name));
  const pkg = members.find((m) => /^pkg-.*\.tar\.zst$/.test(m.name));
  if (!info || !pkg) throw new ArchiveError("corrupt .conda: it needs an info-*.tar.zst and a pkg-*.tar.zst member");
  const decompress = (m: ZipMember) => {
    try {
      return zstdDecompressSync(m.data);
    } catch (e) {
      throw new ArchiveError(`corrupt .conda: ${m.name}: ${(e as Error).message}`);
    }
  };
  return [...(await readTar(decompress(info))), ...(await readTar(decompress(pkg)))];
}
