import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { zstdContentSize } from "../../../src/conda/install/archive";

describe("zstdContentSize (sizes the decompression buffer)", () => {
  const sizes = [0, 1, 255, 256, 300, 65_791, 65_792, 1_000_000];
  it.each(sizes)("reads the size a frame of %i bytes states", (n) => {
    const data = Buffer.alloc(n, 7);
    const frame = zstdCompressSync(data);
    expect(zstdContentSize(frame)).toBe(n);
    expect(zstdDecompressSync(frame).length).toBe(n);
  });

  it("answers undefined for a frame that states no size, and for bytes that are no zstd frame", () => {
    const frame = zstdCompressSync(Buffer.alloc(5000, 1), { params: { [constants.ZSTD_c_contentSizeFlag]: 0 } });
    expect(zstdContentSize(frame)).toBeUndefined();
    expect(zstdContentSize(Buffer.from("PK\x03\x04 not zstd"))).toBeUndefined();
    expect(zstdContentSize(Buffer.from([0x28, 0xb5, 0x2f]))).toBeUndefined();
  });
});
