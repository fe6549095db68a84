// Reading a file by offset without holding it: the ZIP directory of a .conda, the headers of an
// ELF file already written to the prefix. A buffer can stand in for a file (tests, small reads).
import { readSync } from "node:fs";

/** Reads up to `length` bytes at `offset` (fewer only at the end). */
export interface RandomAccess {
  size: number;
  read(offset: number, length: number): Buffer;
}

export function bufferAccess(bytes: Uint8Array): RandomAccess {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { size: b.length, read: (offset, length) => b.subarray(Math.max(0, offset), Math.max(0, offset + length)) };
}

/** An open file of known size. */
export function fileAccess(fd: number, size: number): RandomAccess {
  return {
    size,
    read(offset, length) {
      const b = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
      let got = 0;
      while (got < b.length) {
        const n = readSync(fd, b, got, b.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return b.subarray(0, got);
    },
  };
}
