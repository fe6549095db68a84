// ELF files made in memory for the tests: any class, any byte order, any DT_NEEDED list.

/**
 * A minimal dynamically linked ELF file: header, two program headers (PT_LOAD over the whole
 * file at vaddr 0x10000, PT_DYNAMIC), the dynamic entries (DT_NEEDED..., DT_STRTAB, DT_NULL) and
 * the string table, in the given class and byte order.
 */
export function makeElf(needed: string[], o: { is64: boolean; bigEndian: boolean }): Buffer {
  const { is64, bigEndian } = o;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phoff = ehsize;
  const dynOff = phoff + 2 * phentsize;
  const entry = is64 ? 16 : 8;
  const dynCount = needed.length + 2;
  const strOff = dynOff + dynCount * entry;
  const strings = Buffer.concat([Buffer.from([0]), ...needed.map((n) => Buffer.from(`${n}\0`))]);
  const size = strOff + strings.length;
  const b = Buffer.alloc(size);
  const vaddr = 0x10000;
  const u16 = (v: number, at: number) => (bigEndian ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const u32 = (v: number, at: number) => (bigEndian ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  const word = (v: number, at: number) => (is64 ? (bigEndian ? b.writeBigUInt64BE(BigInt(v), at) : b.writeBigUInt64LE(BigInt(v), at)) : u32(v, at));
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, bigEndian ? 2 : 1, 1], 0);
  u16(3, 16); // ET_DYN
  word(phoff, is64 ? 0x20 : 0x1c);
  u16(ehsize, is64 ? 0x34 : 0x28);
  u16(phentsize, is64 ? 0x36 : 0x2a);
  u16(2, is64 ? 0x38 : 0x2c);
  const ph = (i: number, type: number, offset: number, addr: number, filesz: number) => {
    const at = phoff + i * phentsize;
    u32(type, at);
    if (is64) {
      word(offset, at + 8);
      word(addr, at + 16);
      word(filesz, at + 32);
    } else {
      word(offset, at + 4);
      word(addr, at + 8);
      word(filesz, at + 16);
    }
  };
  ph(0, 1, 0, vaddr, size);
  ph(1, 2, dynOff, vaddr + dynOff, dynCount * entry);
  let at = dynOff;
  let name = 1;
  for (const n of needed) {
    word(1, at);
    word(name, at + entry / 2);
    name += Buffer.byteLength(n) + 1;
    at += entry;
  }
  word(5, at);
  word(vaddr + strOff, at + entry / 2);
  strings.copy(b, strOff);
  return b;
}
