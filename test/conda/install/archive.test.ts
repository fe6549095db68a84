import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { readPackage, readPackageInfo, readTar, zstdContentSize } from "../../../src/conda/install/archive";
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

describe("readTar (headers read in place)", () => {
  const work = mkdtempSync(join(tmpdir(), "cf-readtar-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const longDir = `lib/${"d".repeat(60)}/${"e".repeat(60)}`;
  // ustar keeps a long path in its prefix field, but has no room for a link target over 100 bytes.
  const linkTarget = (format: string) => (format === "ustar" ? "run.sh" : `${longDir}/module.py`);

  /** A tar written by GNU tar in the given format, from a small tree with long names. */
  function gnuTar(format: "gnu" | "pax" | "ustar"): Buffer {
    const src = join(work, `src-${format}`);
    mkdirSync(join(src, longDir), { recursive: true });
    writeFileSync(join(src, longDir, "module.py"), "print('hi')\n");
    writeFileSync(join(src, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    symlinkSync(linkTarget(format), join(src, "link.py"));
    for (const p of [join(src, longDir, "module.py"), join(src, "run.sh")]) utimesSync(p, 1_700_000_000, 1_700_000_000);
    const out = join(work, `${format}.tar`);
    execFileSync("tar", [`--format=${format}`, "-cf", out, "-C", src, "run.sh", "link.py", longDir]);
    return readFileSync(out);
  }

  it.each(["gnu", "pax", "ustar"] as const)("reads GNU tar's %s format: long names, link targets, modes, times, contents", async (format) => {
    const entries = await readTar(gnuTar(format));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const module = byPath.get(`${longDir}/module.py`);
    expect(module?.type).toBe("file");
    expect(module?.data.toString()).toBe("print('hi')\n");
    expect(module?.mtime).toBe(1_700_000_000);
    expect(byPath.get("run.sh")?.mode).toBe(0o755);
    expect(byPath.get("link.py")).toMatchObject({ type: "symlink", linkname: linkTarget(format) });
    expect(byPath.get(longDir)?.type).toBe("directory");
  });

  /** A one-file ustar tar (tar-stream), as bytes to alter. */
  async function oneFileTar(): Promise<Buffer> {
    const p = pack();
    p.entry({ name: "a.txt", mode: 0o644, mtime: new Date(1_000_000_000_000) }, "hello");
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Rewrites the header's checksum field for its current bytes. */
  function reseal(tar: Buffer): void {
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  }

  it("reads a size in GNU base-256", async () => {
    const tar = await oneFileTar();
    tar.fill(0, 124, 136);
    tar[124] = 0x80;
    tar[135] = 5; // 5 bytes, big-endian in the remaining bytes
    reseal(tar);
    const [entry] = await readTar(tar);
    expect(entry?.data.toString()).toBe("hello");
  });

  it("refuses a header whose checksum does not match, and a block without the ustar magic", async () => {
    const altered = await oneFileTar();
    altered[0] = "b".charCodeAt(0);
    await expect(readTar(altered)).rejects.toThrow(/bad header checksum at offset 0/);
    const noMagic = await oneFileTar();
    noMagic.write("xxxxx", 257, "latin1");
    reseal(noMagic);
    await expect(readTar(noMagic)).rejects.toThrow(/no ustar header at offset 0/);
  });
});
