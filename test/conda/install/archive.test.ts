import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readPackage, readPackageInfo, zstdContentSize } from "../../../src/conda/install/archive";
import { dotConda, tarBz2, type PackageSpec } from "./make-package";

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

describe("readPackageInfo (what a noarch step reads of python's archive)", () => {
  const spec: PackageSpec = { index: { name: "python", version: "3.12.1", build: "h0_cpython" }, files: [{ path: "bin/python3.12", content: "x".repeat(1000) }, { path: "lib/python3.12/os.py", content: "import sys\n" }] };
  it.each([["conda", dotConda], ["tar.bz2", tarBz2]] as const)("gives the info/ entries of a .%s and none of its files", async (_format, make) => {
    const bytes = await make(spec);
    const info = await readPackageInfo(bytes);
    const all = await readPackage(bytes);
    expect(info.map((e) => e.path).sort()).toEqual(all.filter((e) => e.path.startsWith("info/")).map((e) => e.path).sort());
    expect(info.map((e) => e.path)).toContain("info/index.json");
    expect(all.map((e) => e.path)).toContain("bin/python3.12");
  });
});
