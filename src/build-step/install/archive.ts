// Reading conda package archives as streams: `.conda` (a ZIP of stored members: metadata.json,
// info-*.tar.zst, pkg-*.tar.zst) and `.tar.bz2` (one bzip2 tar), told apart by magic bytes, not
// by name. The metadata under info/ is read into memory (only the files the installer reads, each
// bounded); the files are handed over one chunk at a time, so memory does not grow with the
// package (a CUDA library or a GPU build of pytorch is 1-4 GB).
import { closeSync, createReadStream, fstatSync, openSync } from "node:fs";
import { Readable, pipeline } from "node:stream";
import { createZstdDecompress, zstdDecompressSync } from "node:zlib";
import Bunzip from "seek-bzip";
import { ArchiveError, type EntryHandler, type EntrySink, type EntryType, TarReader } from "./tar";
import { bufferAccess, fileAccess, type RandomAccess } from "./random-access";
import { readZipMembers, type ZipMember } from "./zip";

export { ArchiveError, type EntryType } from "./tar";

/** One entry held in memory (the info/ files, and tests). */
export interface ArchiveEntry {
  path: string;
  type: EntryType;
  mode: number;
  data: Buffer;
  linkname?: string;
  mtime: number;
}

/** The info/ files the installer reads; the rest of info/ (recipes, tests, licenses) is skipped. */
const metadataFiles = new Set(["info/index.json", "info/paths.json", "info/link.json", "info/files", "info/has_prefix", "info/no_link", "info/no_softlink"]);

/** The most one metadata file may hold: paths.json of a package of 100,000 files is ~30 MB. */
export const maxMetadataFile = 256 * 1024 * 1024;

/** Output chunks of the decompressors: 1 MiB decompressed CPython's tar fastest of 64 KiB-4 MiB. */
const chunkSize = 1024 * 1024;

export function archiveFormat(head: Buffer): "conda" | "tar.bz2" {
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return "conda";
  if (head.length >= 3 && head.toString("latin1", 0, 3) === "BZh") return "tar.bz2";
  throw new ArchiveError("not a conda package: neither a .conda (ZIP) nor a .tar.bz2 (bzip2) archive");
}

/** A package's bytes: a file read by offset (the installer), or a buffer (tests, small tools). */
export type PackageSource = { path: string } | { bytes: Buffer };

interface OpenPackage {
  access: RandomAccess;
  /** A stream of the bytes in [start, end). */
  stream(start: number, end: number): Readable;
  close(): void;
}

function open(source: PackageSource): OpenPackage {
  if ("bytes" in source) {
    const bytes = source.bytes;
    return {
      access: bufferAccess(bytes),
      stream: (start, end) =>
        Readable.from(
          (function* () {
            for (let at = start; at < end; at += chunkSize) yield bytes.subarray(at, Math.min(end, at + chunkSize));
          })(),
        ),
      close() {},
    };
  }
  const fd = openSync(source.path, "r");
  const size = fstatSync(fd).size;
  return {
    access: fileAccess(fd, size),
    stream: (start, end) => (end > start ? createReadStream(source.path, { start, end: end - 1, highWaterMark: chunkSize }) : Readable.from([])),
    close: () => closeSync(fd),
  };
}

/** An entry's chunks as one buffer: the chunk itself when there is one (no copy). */
export const joined = (parts: Buffer[]): Buffer => (parts.length === 1 ? parts[0]! : Buffer.concat(parts));

/** A sink that keeps an entry's bytes, up to a bound. */
function collect(header: { path: string; type: EntryType; mode: number; linkname?: string; mtime: number; size: number }, into: ArchiveEntry[], limit: number): EntrySink {
  if (header.size > limit) throw new ArchiveError(`${header.path} is ${header.size} bytes, more than the ${limit} allowed`);
  const parts: Buffer[] = [];
  return {
    data: (chunk) => void parts.push(chunk),
    end: () => void into.push({ path: header.path, type: header.type, mode: header.mode, linkname: header.linkname, mtime: header.mtime, data: joined(parts) }),
  };
}

/** Thrown by a handler to stop reading: everything wanted has been seen. */
class StopReading extends Error {}

/** Puts the reader's message under the archive's: "corrupt .conda: pkg-x.tar.zst: tar: truncated...". */
function inMember(e: unknown, what: string): unknown {
  return e instanceof ArchiveError ? new ArchiveError(`${what}: ${e.message.replace(/^corrupt tar: /, "tar: ")}`) : e;
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
 * Up to this size a member is decompressed in one call, into one buffer: Node's zstd stream runs
 * on the thread pool a chunk at a time, and took 1.3-2x as long for CPython's 28 MB tar (42 ms in
 * one call), also with 4 or 8 MiB chunks. Bigger members, and any that turns out bigger than its
 * frame says, are streamed: memory stays bounded whatever the package.
 */
export const wholeMemberLimit = 64 * 1024 * 1024;

/** A member decompressed in one call, if it is small enough to; undefined to stream it instead. */
function decompressWhole(pkg: OpenPackage, member: ZipMember): Buffer | undefined {
  const stated = zstdContentSize(pkg.access.read(member.offset, 18));
  // A frame without a stated size (streaming compressors write none) is tried too: at worst 64 MiB are decompressed in vain.
  if ((stated !== undefined && stated > wholeMemberLimit) || member.size > wholeMemberLimit) return undefined;
  try {
    // One output buffer of the stated size (plus one byte, to see the end): no concatenation.
    return zstdDecompressSync(pkg.access.read(member.offset, member.size), { chunkSize: stated !== undefined ? stated + 1 : chunkSize, maxOutputLength: wholeMemberLimit });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return undefined; // it lied about its size
    throw new ArchiveError(`corrupt .conda: ${member.name}: zstd: ${(e as Error).message}`);
  }
}

/**
 * Feeds a .conda member (a zstd-compressed tar) to a tar reader, whole or as a stream. Errors of
 * the decompression are the archive's; errors of the handlers pass through as they are.
 */
async function readZstdTar(pkg: OpenPackage, member: ZipMember, onEntry: EntryHandler): Promise<void> {
  const what = `corrupt .conda: ${member.name}`;
  const tar = new TarReader(onEntry);
  const whole = decompressWhole(pkg, member);
  if (whole) {
    try {
      tar.push(whole);
      tar.end();
    } catch (e) {
      throw inMember(e, what);
    }
    return;
  }
  const zstd = createZstdDecompress({ chunkSize });
  pipeline(pkg.stream(member.offset, member.offset + member.size), zstd, () => {}); // errors reach the iterator below
  const chunks = zstd[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (e) {
        throw new ArchiveError(`zstd: ${(e as Error).message}`);
      }
      if (next.done) break;
      tar.push(next.value);
    }
    tar.end();
  } catch (e) {
    throw inMember(e, what);
  } finally {
    zstd.destroy();
  }
}

/**
 * seek-bzip's input over a file: one byte at a time, from reads of a chunk. A complete stream is
 * never read past its end, so running out of bytes means the file was cut short.
 */
function bzip2Input(file: RandomAccess) {
  let inBuf: Buffer = Buffer.alloc(0);
  let inStart = 0; // file offset of inBuf[0]
  let pos = 0;
  const input = {
    readByte(): number {
      if (pos - inStart >= inBuf.length) {
        inStart = pos;
        inBuf = file.read(pos, chunkSize);
        if (!inBuf.length) throw new ArchiveError("the bzip2 stream ends early (truncated)");
      }
      return inBuf[pos++ - inStart]!;
    },
    read(buffer: Uint8Array, offset: number, length: number): number {
      let n = 0;
      while (n < length && pos < file.size) buffer[offset + n++] = input.readByte();
      return n === 0 ? -1 : n;
    },
    eof: () => pos >= file.size,
  };
  return input;
}

/**
 * seek-bzip's output: bytes gathered into chunks handed to `push` as each fills; `flush` hands
 * over the last, partial one. Every chunk is a new buffer: the tar reader's sinks may keep views.
 */
function chunkedOutput(push: (chunk: Buffer) => void) {
  let out = Buffer.allocUnsafe(chunkSize);
  let outPos = 0;
  return {
    writeByte(b: number) {
      out[outPos++] = b;
      if (outPos === out.length) {
        const full = out;
        out = Buffer.allocUnsafe(chunkSize);
        outPos = 0;
        push(full);
      }
    },
    flush() {
      if (outPos) push(out.subarray(0, outPos));
    },
  };
}

/** Feeds a .tar.bz2 to a tar reader: seek-bzip decodes synchronously, one byte at a time, into 1 MiB chunks. */
function readBzip2Tar(file: RandomAccess, onEntry: EntryHandler): void {
  const tar = new TarReader(onEntry);
  // What the tar reader or its handlers threw, told apart from seek-bzip's own errors, which
  // are all the archive's (it throws TypeErrors, and RangeErrors on some damaged input).
  let fromReader: unknown;
  const output = chunkedOutput((chunk) => {
    try {
      tar.push(chunk);
    } catch (e) {
      fromReader = e;
      throw e;
    }
  });
  try {
    try {
      Bunzip.decode(bzip2Input(file), output, true);
    } catch (e) {
      if (fromReader !== undefined) throw fromReader;
      if (e instanceof ArchiveError) throw e;
      throw new ArchiveError((e as Error).message ?? String(e));
    }
    output.flush();
    tar.end();
  } catch (e) {
    throw inMember(e, "corrupt .tar.bz2");
  }
}

function condaMembers(pkg: OpenPackage): { info: ZipMember; pkg: ZipMember } {
  const members = readZipMembers(pkg.access);
  const info = members.find((m) => /^info-.*\.tar\.zst$/.test(m.name));
  const files = members.find((m) => /^pkg-.*\.tar\.zst$/.test(m.name));
  if (!info || !files) throw new ArchiveError("corrupt .conda: it needs an info-*.tar.zst and a pkg-*.tar.zst member");
  return { info, pkg: files };
}

const isInfo = (path: string) => path.startsWith("info/");

/**
 * The package's metadata files (index.json, paths.json...) from info/. A .conda keeps them in a
 * member of their own; a .tar.bz2 is read until its info/ entries are past (they come first in
 * what conda-build writes; all of it otherwise).
 */
export async function readPackageInfo(source: PackageSource): Promise<ArchiveEntry[]> {
  const pkg = open(source);
  try {
    const entries: ArchiveEntry[] = [];
    let seenInfo = false;
    let seenOther = false;
    const onEntry: EntryHandler = (h) => {
      if (!isInfo(h.path)) {
        if (seenInfo && !seenOther) throw new StopReading();
        seenOther = true;
        return undefined;
      }
      seenInfo = true;
      return metadataFiles.has(h.path) && h.type === "file" ? collect(h, entries, maxMetadataFile) : undefined;
    };
    if (archiveFormat(pkg.access.read(0, 4)) === "tar.bz2") {
      try {
        readBzip2Tar(pkg.access, onEntry);
      } catch (e) {
        if (!(e instanceof StopReading)) throw e;
      }
    } else {
      const { info } = condaMembers(pkg);
      await readZstdTar(pkg, info, onEntry);
    }
    return entries;
  } finally {
    pkg.close();
  }
}

/** Streams every entry outside info/ (the package's files) to `onEntry`. */
export async function readPackageFiles(source: PackageSource, onEntry: EntryHandler): Promise<void> {
  const pkg = open(source);
  try {
    const filesOnly: EntryHandler = (h) => (isInfo(h.path) ? undefined : onEntry(h));
    if (archiveFormat(pkg.access.read(0, 4)) === "tar.bz2") readBzip2Tar(pkg.access, filesOnly);
    else {
      const { pkg: files } = condaMembers(pkg);
      await readZstdTar(pkg, files, filesOnly);
    }
  } finally {
    pkg.close();
  }
}

/** Every entry of a package in memory, info/ included: for tests and small packages only. */
export async function readPackage(bytes: Buffer): Promise<ArchiveEntry[]> {
  const info = await readPackageInfo({ bytes });
  const files: ArchiveEntry[] = [];
  await readPackageFiles({ bytes }, (h) => collect(h, files, Number.MAX_SAFE_INTEGER));
  return [...info, ...files];
}
