// The member list of a .conda: a ZIP whose members are stored (not compressed), read through its
// central directory, ZIP64 included (a member over 4 GiB). Nothing is read into memory but the
// directory; every offset and size in it is the archive's word and is checked against the file.

import type { RandomAccess } from "./random-access";
import { ArchiveError } from "./tar";

export interface ZipMember {
  name: string;
  /** Where the member's bytes start in the file. */
  offset: number;
  size: number;
}

const eocdSignature = 0x06054b50;
const zip64LocatorSignature = 0x07064b50;
const zip64EocdSignature = 0x06064b50;
const centralSignature = 0x02014b50;
const localSignature = 0x04034b50;
/** A .conda has three members; a directory claiming thousands is not one. */
const maxMembers = 256;

const corrupt = (what: string) => new ArchiveError(`corrupt .conda: ${what}`);

function u64(b: Buffer, at: number): number {
  const n = b.readBigUInt64LE(at);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt("a ZIP64 size or offset out of range");
  return Number(n);
}

/** Reads exactly `length` bytes at `offset`, or says what is missing. */
function readExactly(file: RandomAccess, offset: number, length: number, what: string): Buffer {
  if (offset < 0 || length < 0 || offset + length > file.size) throw corrupt(`${what} lies outside the file (bytes ${offset}-${offset + length} of ${file.size})`);
  const b = file.read(offset, length);
  if (b.length < length) throw corrupt(`${what}: the file ended early`);
  return b;
}

interface Directory {
  count: number;
  offset: number;
  size: number;
}

/** The end-of-central-directory record (searched for in the last 64 KiB, past a comment), ZIP64 if marked. */
function findDirectory(file: RandomAccess): Directory {
  if (file.size < 22) throw corrupt("too short for a ZIP");
  const tailLength = Math.min(file.size, 22 + 65535);
  const tail = readExactly(file, file.size - tailLength, tailLength, "the end of the ZIP");
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === eocdSignature) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt("no ZIP end-of-central-directory record");
  const eocdAt = file.size - tailLength + eocd;
  let dir: Directory = { count: tail.readUInt16LE(eocd + 10), size: tail.readUInt32LE(eocd + 12), offset: tail.readUInt32LE(eocd + 16) };
  if (dir.count === 0xffff || dir.size === 0xffffffff || dir.offset === 0xffffffff) {
    const locator = readExactly(file, eocdAt - 20, 20, "the ZIP64 locator");
    if (locator.readUInt32LE(0) !== zip64LocatorSignature) throw corrupt("the ZIP marks ZIP64 sizes but has no ZIP64 locator");
    const record = readExactly(file, u64(locator, 8), 56, "the ZIP64 end-of-central-directory record");
    if (record.readUInt32LE(0) !== zip64EocdSignature) throw corrupt("bad ZIP64 end-of-central-directory record");
    dir = { count: u64(record, 32), size: u64(record, 40), offset: u64(record, 48) };
  }
  if (dir.count > maxMembers) throw corrupt(`the ZIP claims ${dir.count} members`);
  if (dir.offset + dir.size > eocdAt) throw corrupt("the central directory overlaps its end record or lies outside the file");
  return dir;
}

/** The ZIP64 extended-information extra field fills in the 32-bit fields that say 0xFFFFFFFF, in this order. */
function zip64Fields(extra: Buffer, wanted: { uncompressed: boolean; compressed: boolean; offset: boolean }, name: string): { uncompressed?: number; compressed?: number; offset?: number } {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (at + 4 + length > extra.length) break;
    if (id === 0x0001) {
      const out: { uncompressed?: number; compressed?: number; offset?: number } = {};
      let p = at + 4;
      const take = () => {
        if (p + 8 > at + 4 + length) throw corrupt(`member ${name}: its ZIP64 field is too short`);
        const v = u64(extra, p);
        p += 8;
        return v;
      };
      if (wanted.uncompressed) out.uncompressed = take();
      if (wanted.compressed) out.compressed = take();
      if (wanted.offset) out.offset = take();
      return out;
    }
    at += 4 + length;
  }
  throw corrupt(`member ${name} has 32-bit sizes marked as ZIP64 but no ZIP64 field`);
}

/** The members of a ZIP whose members are stored (as .conda requires), via the central directory. */
export function readZipMembers(file: RandomAccess): ZipMember[] {
  const dir = findDirectory(file);
  const cd = readExactly(file, dir.offset, dir.size, "the central directory");
  const members: ZipMember[] = [];
  let at = 0;
  for (let n = 0; n < dir.count; n++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== centralSignature) throw corrupt("bad central directory entry");
    const method = cd.readUInt16LE(at + 10);
    let compressed = cd.readUInt32LE(at + 20);
    let uncompressed = cd.readUInt32LE(at + 24);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    let localOffset = cd.readUInt32LE(at + 42);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw corrupt("a central directory entry runs past the directory");
    const name = cd.toString("utf8", at + 46, at + 46 + nameLength);
    if (compressed === 0xffffffff || uncompressed === 0xffffffff || localOffset === 0xffffffff) {
      const z = zip64Fields(cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), { uncompressed: uncompressed === 0xffffffff, compressed: compressed === 0xffffffff, offset: localOffset === 0xffffffff }, name);
      compressed = z.compressed ?? compressed;
      uncompressed = z.uncompressed ?? uncompressed;
      localOffset = z.offset ?? localOffset;
    }
    at = end;
    if (method !== 0) throw corrupt(`member ${name} is compressed (method ${method}); .conda members are stored`);
    if (compressed !== uncompressed) throw corrupt(`member ${name} is stored but its sizes differ (${compressed} and ${uncompressed})`);
    const local = readExactly(file, localOffset, 30, `the local header of ${name}`);
    if (local.readUInt32LE(0) !== localSignature) throw corrupt(`bad local header for ${name}`);
    const start = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (start + compressed > dir.offset) throw corrupt(`member ${name} (bytes ${start}-${start + compressed}) runs into the central directory or past the file`);
    members.push({ name, offset: start, size: compressed });
  }
  return members;
}
