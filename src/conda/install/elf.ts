// The shared libraries an ELF program or library names as DT_NEEDED: what the dynamic loader
// will look for when it runs. Pruning uses it to never remove a library that a program of the
// same package needs (a python built with --enable-shared needs its libpython).

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;

export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/** DT_NEEDED names of a little-endian ELF32/ELF64 file; [] for anything else or a damaged file. */
export function neededLibraries(data: Uint8Array): string[] {
  if (!isElf(data) || data.length < 52 || data[5] !== 1) return [];
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const is64 = buf[4] === 2;
  try {
    const word = (o: number) => (is64 ? Number(buf.readBigUInt64LE(o)) : buf.readUInt32LE(o));
    const phoff = word(is64 ? 0x20 : 0x1c);
    const phentsize = buf.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = buf.readUInt16LE(is64 ? 0x38 : 0x2c);
    const segments: Segment[] = [];
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      segments.push(
        is64
          ? { type: buf.readUInt32LE(o), offset: word(o + 8), vaddr: word(o + 16), filesz: word(o + 32) }
          : { type: buf.readUInt32LE(o), offset: word(o + 4), vaddr: word(o + 8), filesz: word(o + 16) },
      );
    }
    const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
    if (!dynamic) return []; // statically linked
    const entrySize = is64 ? 16 : 8;
    const needed: number[] = [];
    let strtab: number | undefined;
    for (let o = dynamic.offset; o + entrySize <= dynamic.offset + dynamic.filesz; o += entrySize) {
      const tag = word(o);
      const value = word(o + entrySize / 2);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) needed.push(value);
      if (tag === DT_STRTAB) strtab = value;
    }
    if (strtab === undefined) return [];
    // DT_STRTAB is an address: find the file offset of the loaded segment that holds it.
    const load = segments.find((s) => s.type === PT_LOAD && strtab! >= s.vaddr && strtab! < s.vaddr + s.filesz);
    if (!load) return [];
    const base = strtab - load.vaddr + load.offset;
    return needed.map((n) => {
      const start = base + n;
      const end = buf.indexOf(0, start);
      return buf.toString("utf8", start, end < 0 ? buf.length : end);
    });
  } catch {
    return []; // truncated or damaged: nothing is known to be needed
  }
}
