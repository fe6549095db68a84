import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { constants } from "node:zlib";
import { type ArchiveEntry, ArchiveError, readPackage, readPackageFiles, readPackageInfo, wholeMemberLimit, zstdContentSize } from "../../../src/build-step/install/archive";
import { TarReader } from "../../../src/build-step/install/tar";
import { dotConda, tarBz2, type PackageSpec } from "./make-package";

/** A whole tar read with the streaming reader, fed in chunks of `chunk` bytes. */
async function readTar(tar: Buffer, chunk = 1 << 20): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  const reader = new TarReader((h) => {
    const parts: Buffer[] = [];
    return { data: (c) => void parts.push(Buffer.from(c)), end: () => void entries.push({ path: h.path, type: h.type, mode: h.mode, linkname: h.linkname, mtime: h.mtime, data: Buffer.concat(parts) }) };
  });
  for (let at = 0; at < tar.length; at += chunk) reader.push(tar.subarray(at, at + chunk));
  reader.end();
  return entries;
}

describe("readPackageInfo (what a noarch step reads of python's archive)", () => {
  const spec: PackageSpec = { index: { name: "python", version: "3.12.1", build: "h0_cpython" }, files: [{ path: "bin/python3.12", content: "x".repeat(1000) }, { path: "lib/python3.12/os.py", content: "import sys\n" }] };
  it.each([["conda", dotConda], ["tar.bz2", tarBz2]] as const)("gives the info/ entries of a .%s and none of its files", async (_format, make) => {
    const bytes = await make(spec);
    const info = await readPackageInfo({ bytes });
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
  let made = 0;
  function gnuTar(format: "gnu" | "pax" | "ustar"): Buffer {
    const src = join(work, `src-${format}-${made++}`);
    mkdirSync(join(src, longDir), { recursive: true });
    writeFileSync(join(src, longDir, "module.py"), "print('hi')\n");
    writeFileSync(join(src, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    symlinkSync(linkTarget(format), join(src, "link.py"));
    for (const p of [join(src, longDir, "module.py"), join(src, "run.sh")]) utimesSync(p, 1_700_000_000, 1_700_000_000);
    const out = join(work, `${format}-${made}.tar`);
    execFileSync("tar", [`--format=${format}`, "-cf", out, "-C", src, "run.sh", "link.py", longDir]);
    return readFileSync(out);
  }

  it.each([
    ["gnu", 1 << 20],
    ["pax", 1 << 20],
    ["ustar", 1 << 20],
    ["gnu", 7],
    ["pax", 511],
    ["pax", 513],
  ] as const)("reads GNU tar's %s format fed in chunks of %i bytes: long names, link targets, modes, times, contents", async (format, chunk) => {
    const entries = await readTar(gnuTar(format), chunk);
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

describe("TarReader on hostile tars", () => {
  /** A tar written by tar-stream from entries with pax headers where given. */
  async function tarOf(entries: { name: string; content: string; pax?: Record<string, string> }[]): Promise<Buffer> {
    const p = pack();
    for (const e of entries) p.entry({ name: e.name, mode: 0o644, pax: e.pax }, e.content);
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it("takes an entry's size from its pax record over the header's", async () => {
    const tar = await tarOf([{ name: "a.txt", content: "hello", pax: { size: "5" } }, { name: "b.txt", content: "world" }]);
    // The file's own header (after the pax header and its one data block) says 0 bytes: the pax record wins.
    // tar-stream: the pax header (a block and its records' block), then the file's own header.
    const header = 1024;
    expect(String.fromCharCode(tar[header + 156]!)).toBe("0");
    tar.write("00000000000\0", header + 124, "latin1");
    tar.fill(0x20, header + 148, header + 156);
    let sum = 0;
    for (let i = header; i < header + 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, header + 148, "latin1");
    const entries = await readTar(tar);
    expect(entries.map((e) => [e.path, e.data.toString()])).toEqual([["a.txt", "hello"], ["b.txt", "world"]]);
  });

  it("refuses a pax size that is no number, and an extended header too large to hold", async () => {
    const tar = await tarOf([{ name: "a.txt", content: "hello", pax: { size: "5x" } }]);
    await expect(readTar(tar)).rejects.toThrow(/pax size "5x" is not a number/);
    const big = await tarOf([{ name: "a.txt", content: "x", pax: { comment: "y".repeat(1024 * 1024 + 10) } }]);
    await expect(readTar(big)).rejects.toThrow(/an extended header of \d+ bytes/);
  });

  it("says a tar cut inside an entry's data is truncated, and accepts one missing its end blocks", async () => {
    const tar = await tarOf([{ name: "a.txt", content: "x".repeat(2000) }]);
    await expect(readTar(tar.subarray(0, 1024))).rejects.toThrow(/truncated at byte 1024 inside an entry's data/);
    await expect(readTar(tar.subarray(0, 300))).rejects.toThrow(/truncated/);
    expect((await readTar(tar.subarray(0, 512 + 2048))).map((e) => e.data.length)).toEqual([2000]);
  });

  it("refuses a negative base-256 size", async () => {
    const p = pack();
    p.entry({ name: "a.txt", mode: 0o644 }, "hello");
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    const tar = Buffer.concat(chunks);
    tar.fill(0xff, 124, 136);
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    await expect(readTar(tar)).rejects.toThrow(/negative size/);
  });
});

describe("readPackageFiles (streamed, one chunk at a time)", () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  const spec: PackageSpec = { index: { name: "big", version: "1", build: "h0" }, files: [{ path: "share/big.bin", content: big }, { path: "share/small.txt", content: "hi" }] };

  // A .conda member bigger than wholeMemberLimit decompressed is streamed; .tar.bz2 always is.
  const huge = Buffer.alloc(wholeMemberLimit + 1024 * 1024 + 5);
  huge.write("start", 0);
  huge.write("end", huge.length - 3);
  const hugeSpec: PackageSpec = { index: { name: "huge", version: "1", build: "h0" }, files: [{ path: "share/huge.bin", content: huge }, { path: "share/small.txt", content: "hi" }] };
  const noStatedSize = { params: { [constants.ZSTD_c_contentSizeFlag]: 0 } };

  /** Every file's chunks, by path. */
  async function chunksOf(bytes: Buffer): Promise<Map<string, Buffer[]>> {
    const got = new Map<string, Buffer[]>();
    await readPackageFiles({ bytes }, (h) => {
      const parts: Buffer[] = [];
      got.set(h.path, parts);
      return { data: (c) => void parts.push(c), end: () => {} };
    });
    return got;
  }

  it.each([["conda", (s: PackageSpec) => dotConda(s === spec ? hugeSpec : s)], ["tar.bz2", tarBz2]] as const)("hands a .%s's files over in chunks that add up to the files, and no info/ entry", async (format, make) => {
    const seen = await chunksOf(await make(spec));
    expect([...seen.keys()].filter((p) => p.startsWith("info/"))).toEqual([]);
    const [path, content] = format === "conda" ? ["share/huge.bin", huge] : ["share/big.bin", big];
    const file = seen.get(path)!;
    expect(Buffer.concat(file).equals(content)).toBe(true);
    expect(file.length).toBeGreaterThan(1);
  });

  it("decompresses a member of up to 64 MiB in one call (its size stated or not), streams a bigger one (stated or found out): the same bytes either way", async () => {
    for (const options of [undefined, noStatedSize]) {
      const small = (await chunksOf(await dotConda(spec, undefined, options))).get("share/big.bin")!;
      expect(small.length).toBe(1);
      expect(small[0]!.equals(big)).toBe(true);
      const streamed = (await chunksOf(await dotConda(hugeSpec, undefined, options))).get("share/huge.bin")!;
      expect(streamed.length).toBeGreaterThan(1);
      expect(Buffer.concat(streamed).equals(huge)).toBe(true);
    }
    const stated = await dotConda(hugeSpec);
    const member = stated.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), stated.indexOf("pkg-huge"));
    expect(zstdContentSize(stated.subarray(member))).toBeGreaterThan(wholeMemberLimit);
  });

  it("passes a handler's own error through unchanged", async () => {
    class Mine extends Error {}
    const bytes = await dotConda(spec);
    await expect(readPackageFiles({ bytes }, () => { throw new Mine("stop"); })).rejects.toBeInstanceOf(Mine);
    const bz = await tarBz2(spec);
    await expect(readPackageFiles({ bytes: bz }, () => { throw new Mine("stop"); })).rejects.toBeInstanceOf(Mine);
  });

  it.each([["conda", dotConda], ["tar.bz2", tarBz2]] as const)("says a .%s cut short is corrupt, with an ArchiveError", async (format, make) => {
    const bytes = await make(spec);
    const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
    const err = await readPackageFiles({ bytes: cut }, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(String((err as Error).message)).toMatch(new RegExp(`corrupt \\.${format.replace(".", "\\.")}`));
  });
});
