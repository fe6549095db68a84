// The shared libraries an ELF program or library names as DT_NEEDED: what the dynamic loader
// will look for when it runs. Pruning uses it to never remove a library that a program of the
// same package needs (a python built with --enable-shared needs its libpython). Read by offset
// (headers, the dynamic segment, the names), never the whole file; both byte orders (s390x and
// ppc64 are big-endian); 32 and 64 bits.
import { bufferAccess, type RandomAccess } from "./random-access";

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
/** Bounds on what a header may claim: real programs have tens of segments and dynamic entries. */
const maxSegments = 4096;
const maxDynamicEntries = 65536;
const maxNameLength = 4096;

export function isElf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

class Unreadable extends Error {}

/** Field readers for one ELF class and byte order, over bytes read from the file. */
function reader(is64: boolean, bigEndian: boolean) {
  const u16 = (b: Buffer, o: number) => (bigEndian ? b.readUInt16BE(o) : b.readUInt16LE(o));
  const u32 = (b: Buffer, o: number) => (bigEndian ? b.readUInt32BE(o) : b.readUInt32LE(o));
  const u64 = (b: Buffer, o: number) => {
    const n = bigEndian ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Unreadable();
    return Number(n);
  };
  const word = (b: Buffer, o: number) => (is64 ? u64(b, o) : u32(b, o));
  return { is64, u16, u32, word };
}

type Fields = ReturnType<typeof reader>;

function readExactly(file: RandomAccess, offset: number, length: number): Buffer {
  if (offset < 0 || length < 0 || offset + length > file.size) throw new Unreadable();
  const b = file.read(offset, length);
  if (b.length < length) throw new Unreadable();
  return b;
}

/**
 * DT_NEEDED names of an ELF file: [] when it is no ELF file or is statically linked, undefined
 * when it says it is ELF but cannot be read (truncated, damaged, an unknown class or byte
 * order): a caller deciding what may be removed must then assume anything may be needed.
 */
export function neededLibraries(file: RandomAccess | Uint8Array): string[] | undefined {
  const f = file instanceof Uint8Array ? bufferAccess(file) : file;
  const ident = f.read(0, 16);
  if (!isElf(ident)) return [];
  try {
    if (ident.length < 16 || (ident[4] !== 1 && ident[4] !== 2) || (ident[5] !== 1 && ident[5] !== 2)) throw new Unreadable();
    const fields = reader(ident[4] === 2, ident[5] === 2);
    const segments = programHeaders(f, fields);
    const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
    if (!dynamic) return []; // statically linked
    const { needed, strtab } = dynamicEntries(f, dynamic, fields);
    if (!needed.length) return [];
    if (strtab === undefined) throw new Unreadable();
    return stringsAt(f, segments, strtab, needed);
  } catch (e) {
    if (e instanceof Unreadable || e instanceof RangeError) return undefined;
    throw e;
  }
}

/** The segments the ELF header's program header table lists. */
function programHeaders(f: RandomAccess, { is64, u16, u32, word }: Fields): Segment[] {
  const eh = readExactly(f, 0, is64 ? 64 : 52);
  const phoff = word(eh, is64 ? 0x20 : 0x1c);
  const phentsize = u16(eh, is64 ? 0x36 : 0x2a);
  const phnum = u16(eh, is64 ? 0x38 : 0x2c);
  if (phnum > maxSegments || phentsize < (is64 ? 56 : 32)) throw new Unreadable();
  const table = readExactly(f, phoff, phnum * phentsize);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    segments.push(
      is64
        ? { type: u32(table, o), offset: word(table, o + 8), vaddr: word(table, o + 16), filesz: word(table, o + 32) }
        : { type: u32(table, o), offset: word(table, o + 4), vaddr: word(table, o + 8), filesz: word(table, o + 16) },
    );
  }
  return segments;
}

/** From the dynamic segment: the DT_NEEDED values (offsets into the string table) and DT_STRTAB (the table's address). */
function dynamicEntries(f: RandomAccess, dynamic: Segment, { is64, word }: Fields): { needed: number[]; strtab?: number } {
  const entrySize = is64 ? 16 : 8;
  const count = Math.min(Math.floor(dynamic.filesz / entrySize), maxDynamicEntries);
  const dyn = readExactly(f, dynamic.offset, count * entrySize);
  const needed: number[] = [];
  let strtab: number | undefined;
  for (let o = 0; o + entrySize <= dyn.length; o += entrySize) {
    const tag = word(dyn, o);
    const value = word(dyn, o + entrySize / 2);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) needed.push(value);
    if (tag === DT_STRTAB) strtab = value;
  }
  return { needed, strtab };
}

/** NUL-terminated strings at `offsets` in the string table at address `strtab`. */
function stringsAt(f: RandomAccess, segments: Segment[], strtab: number, offsets: number[]): string[] {
  // DT_STRTAB is an address: find the file offset of the loaded segment that holds it.
  const load = segments.find((s) => s.type === PT_LOAD && strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
  if (!load) throw new Unreadable();
  const base = strtab - load.vaddr + load.offset;
  return offsets.map((n) => {
    const bytes = f.read(base + n, maxNameLength);
    const end = bytes.indexOf(0);
    if (end < 0) throw new Unreadable();
    return bytes.toString("utf8", 0, end);
  });
}
