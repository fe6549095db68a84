// Reading conda package archives into memory: `.conda` (a ZIP of stored members: metadata.json,
// info-*.tar.zst, pkg-*.tar.zst) and `.tar.bz2` (one bzip2 tar). Told apart by magic bytes, not
// by name. The result is a flat list of entries; nothing touches the disk here.
import { zstdDecompressSync } from "node:zlib";
import Bunzip from "seek-bzip";

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

// Header fields are read in place, by offset into the whole tar: no view per field. A package's
// tar has ~1000 headers, read once per process, mostly before V8 has optimised this code.

/** A NUL-terminated text field. */
function field(tar: Buffer, start: number, length: number): string {
  let end = start;
  while (end < start + length && tar[end] !== 0) end++;
  return tar.toString("utf8", start, end);
}

/** A numeric field: octal text (leading spaces, ended by NUL or space), or GNU base-256. */
function octal(tar: Buffer, start: number, length: number): number {
  let n = 0;
  if (tar[start]! & 0x80) {
    for (let i = start + 1; i < start + length; i++) n = n * 256 + tar[i]!;
    return n;
  }
  let i = start;
  while (i < start + length && tar[i] === 0x20) i++;
  for (; i < start + length; i++) {
    const digit = tar[i]! - 0x30;
    if (digit < 0 || digit > 7) break;
    n = n * 8 + digit;
  }
  return n;
}

/** The header's checksum: the sum of its bytes, with the checksum field itself counted as spaces. */
function headerSum(tar: Buffer, at: number): number {
  let sum = 8 * 0x20;
  for (let i = at; i < at + 148; i++) sum += tar[i]!;
  for (let i = at + 156; i < at + 512; i++) sum += tar[i]!;
  return sum;
}

function isZeroBlock(tar: Buffer, at: number): boolean {
  for (let i = at; i < at + 512; i++) if (tar[i] !== 0) return false;
  return true;
}

/** "ustar\0" (POSIX) or "ustar " (GNU) at 257. */
function hasUstarMagic(tar: Buffer, at: number): boolean {
  const m = at + 257;
  return tar[m] === 0x75 && tar[m + 1] === 0x73 && tar[m + 2] === 0x74 && tar[m + 3] === 0x61 && tar[m + 4] === 0x72 && (tar[m + 5] === 0 || tar[m + 5] === 0x20);
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.toString("utf8", at, space));
    if (!length) break;
    const record = data.toString("utf8", space + 1, at + length - 1); // without the newline
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/**
 * Reads a whole tar held in memory: ustar, with pax (x, g) and GNU long-name (L, K) extensions.
 * Entries' data are views into `tar`, not copies (this runs for every package of every build).
 */
export async function readTar(tar: Buffer): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  let at = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (at + 512 <= tar.length) {
    const header = at;
    if (isZeroBlock(tar, header)) break; // end of archive
    if (!hasUstarMagic(tar, header)) throw new ArchiveError(`corrupt tar: no ustar header at offset ${header}`);
    if (headerSum(tar, header) !== octal(tar, header + 148, 8)) throw new ArchiveError(`corrupt tar: bad header checksum at offset ${header}`);
    const size = octal(tar, header + 124, 12);
    const flag = String.fromCharCode(tar[header + 156]!);
    const data = tar.subarray(header + 512, header + 512 + size);
    if (data.length < size) throw new ArchiveError("corrupt tar: truncated entry");
    at += 512 + Math.ceil(size / 512) * 512;
    if (flag === "x") {
      pax = { ...pax, ...paxRecords(data) };
      continue;
    }
    if (flag === "g") continue; // global pax header: nothing we use
    if (flag === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (flag === "K") {
      longLink = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    const prefix = field(tar, header + 345, 155);
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(tar, header, 100)}` : field(tar, header, 100));
    const linkname = pax.linkpath ?? longLink ?? field(tar, header + 157, 100);
    const mtime = pax.mtime ? Math.floor(Number(pax.mtime)) : octal(tar, header + 136, 12);
    pax = {};
    longName = longLink = undefined;
    const type: EntryType | undefined = flag === "0" || flag === "\0" || flag === "7" ? "file" : flag === "2" ? "symlink" : flag === "5" ? "directory" : flag === "1" ? "hardlink" : undefined;
    if (!type) continue; // devices, fifos: never in a conda package
    entries.push({ path: name.replace(/^(\.\/)+/, "").replace(/\/+$/, ""), type, mode: octal(tar, header + 100, 8) & 0o7777, data, linkname: linkname || undefined, mtime });
  }
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

/**
 * The size a zstd frame says it decompresses to (its Frame_Content_Size), if it says. The
 * frame header: magic, a descriptor byte, then a window byte (unless single-segment) and a
 * dictionary id of 0-4 bytes before the size field.
 */
export function zstdContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 6 || frame[0] !== 0x28 || frame[1] !== 0xb5 || frame[2] !== 0x2f || frame[3] !== 0xfd) return undefined;
  const descriptor = frame[4]!;
  const singleSegment = (descriptor >> 5) & 1;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
  if (sizeBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
  if (frame.length < at + sizeBytes) return undefined;
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  switch (sizeBytes) {
    case 1:
      return view.readUInt8(at);
    case 2:
      return view.readUInt16LE(at) + 256;
    case 4:
      return view.readUInt32LE(at);
    default:
      return Number(view.readBigUInt64LE(at));
  }
}

/**
 * zlib's output chunk for a decompression: the whole stated size plus one byte (one buffer, no
 * concatenation: a 28 MB tar decompresses in 42 ms instead of 78 with the 16 KiB default), unless
 * the size is missing or implausible (the header is the archive's word), then 1 MiB.
 */
function outputChunkSize(frame: Uint8Array): number {
  const size = zstdContentSize(frame);
  return size !== undefined && size < 512 * 2 ** 20 ? size + 1 : 2 ** 20;
}

/** Every entry of a package, info/ included, whatever the format. */
export async function readPackage(bytes: Buffer): Promise<ArchiveEntry[]> {
  return readEntries(bytes, "all");
}

/**
 * The package's info/ entries only. A .conda keeps them in a member of their own, so the files
 * are not decompressed (CPython's 28 MB are, when a noarch step needs only its index.json).
 */
export async function readPackageInfo(bytes: Buffer): Promise<ArchiveEntry[]> {
  return (await readEntries(bytes, "info")).filter((e) => e.path.startsWith("info/"));
}

async function readEntries(bytes: Buffer, which: "all" | "info"): Promise<ArchiveEntry[]> {
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
      return zstdDecompressSync(m.data, { chunkSize: outputChunkSize(m.data) });
    } catch (e) {
      throw new ArchiveError(`corrupt .conda: ${m.name}: ${(e as Error).message}`);
    }
  };
  const infoEntries = await readTar(decompress(info));
  return which === "info" ? infoEntries : [...infoEntries, ...(await readTar(decompress(pkg)))];
}
