// The installer against packages made to attack it: a lying index.json, dangerous modes, hard
// links, libraries a prune rule matches, damaged and ZIP64 archives. Each is refused with a
// clear error or neutralised, and nothing is written outside the step's output.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { ArchiveError, readPackageFiles, readPackageInfo } from "../../../src/build-step/install/archive";
import { describeModeChanges, installPackage, VerifyError } from "../../../src/build-step/install/install";
import { safeMode } from "../../../src/build-step/install/link";
import { bufferAccess } from "../../../src/build-step/install/random-access";
import type { InstallRequest } from "../../../src/conda/install-request";
import { readZipMembers } from "../../../src/build-step/install/zip";
import { makeElf } from "./make-elf";
import { dotConda, type Format, type PackageSpec, sha256Of, storedZip, writePackage } from "./make-package";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "cf-hostile-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function request(spec: PackageSpec, o: { format?: Format; lock?: { name: string; version: string; build: string }; prune?: InstallRequest["prune"] } = {}): Promise<InstallRequest> {
  const dir = tmp();
  const w = await writePackage(dir, spec, o.format ?? "conda");
  return { archive: w.path, url: w.url, filename: w.filename, sha256: w.sha256, ...(o.lock ?? {}), prefix: "/opt/conda", outRoot: join(dir, "out"), ...(o.prune ? { prune: o.prune } : {}) };
}

/** Every path under `dir`, relative. */
function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const full = join(dir, n);
    return lstatSync(full).isDirectory() ? [full.slice(base.length + 1), ...walk(full, base)] : [full.slice(base.length + 1)];
  });
}

describe("a package that lies about itself", () => {
  it("is refused when index.json's name differs from the lock's, naming both, before anything is written", async () => {
    const spec: PackageSpec = { index: { name: "../../../../x", version: "1.0", build: "h_0" }, files: [{ path: "share/a", content: "a" }], archiveStem: "liar-1.0-h_0" };
    const req = await request(spec, { lock: { name: "liar", version: "1.0", build: "h_0" } });
    const err = await installPackage(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerifyError);
    expect((err as Error).message).toMatch(/liar-1\.0-h_0\.conda from https:\/\/.*: info\/index\.json says name "\.\.\/\.\.\/\.\.\/\.\.\/x", but the lock says "liar"/);
    expect(walk(join(req.outRoot, ".."))).not.toContain("x-1.0-h_0.json");
    expect(existsSync(req.outRoot)).toBe(false);
  });

  it("is refused when a plain name, version or build differs from the lock's (the file name's when the request has none)", async () => {
    const spec: PackageSpec = { index: { name: "other", version: "1.0", build: "h_0" }, files: [{ path: "share/a", content: "a" }], archiveStem: "liar-1.0-h_0" };
    await expect(installPackage(await request(spec, { lock: { name: "liar", version: "1.0", build: "h_0" } }))).rejects.toThrow(/info\/index\.json says name "other", but the lock says "liar"/);
    await expect(installPackage(await request(spec))).rejects.toThrow(/says name "other", but the lock says "liar"/);
    const build: PackageSpec = { index: { name: "liar", version: "1.0", build: "h_1" }, files: [], archiveStem: "liar-1.0-h_0" };
    await expect(installPackage(await request(build))).rejects.toThrow(/says build "h_1", but the lock says "h_0"/);
  });

  it("is refused when index.json's version holds a NUL (even if the request says the same) or is not a string", async () => {
    const nul: PackageSpec = { index: { name: "liar", version: "1.0\u0000", build: "h_0" }, files: [], archiveStem: "liar-1.0-h_0" };
    await expect(installPackage(await request(nul))).rejects.toThrow(/says version "1\.0\\u0000", but the lock says "1\.0"/);
    await expect(installPackage(await request(nul, { lock: { name: "liar", version: "1.0\u0000", build: "h_0" } }))).rejects.toThrow(/version "1\.0\\u0000" cannot name a file: it contains a control character/);
    const num: PackageSpec = { index: { name: "liar", version: 1 as unknown as string, build: "h_0" }, files: [], archiveStem: "liar-1-h_0" };
    await expect(installPackage(await request(num))).rejects.toThrow(/info\/index\.json: "version" must be a non-empty string, not 1/);
  });
});

describe("modes", () => {
  it("safeMode drops setuid, setgid, sticky and group/other write, and keeps the rest", () => {
    expect(safeMode(0o4755)).toBe(0o755);
    expect(safeMode(0o2775)).toBe(0o755);
    expect(safeMode(0o1777)).toBe(0o755);
    expect(safeMode(0o666)).toBe(0o644);
    expect(safeMode(0o664)).toBe(0o644);
    expect(safeMode(0o600)).toBe(0o600);
    expect(safeMode(0o750)).toBe(0o750);
  });

  it.each(["conda", "tar.bz2"] as const)("writes a .%s's setuid, world-writable and group-writable files 0755/0644 and names them in the log", async (format) => {
    const spec: PackageSpec = {
      index: { name: "setuidpkg", version: "1.0", build: "h_0" },
      files: [
        { path: "bin/suidprog", content: "#!/bin/sh\n", mode: 0o4755 },
        { path: "bin/sgid", content: "#!/bin/sh\n", mode: 0o2775 },
        { path: "share/ww.txt", content: "w", mode: 0o666 },
        { path: "share/g.txt", content: "g", mode: 0o664 },
        { path: "share/plain.txt", content: "p", mode: 0o644 },
      ],
    };
    const req = await request(spec, { format });
    const result = await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    const mode = (rel: string) => statSync(join(root, rel)).mode & 0o7777;
    expect([mode("bin/suidprog"), mode("bin/sgid"), mode("share/ww.txt"), mode("share/g.txt"), mode("share/plain.txt")]).toEqual([0o755, 0o755, 0o644, 0o644, 0o644]);
    for (const f of walk(root)) expect(statSync(join(root, f)).mode & 0o7022).toBe(0);
    const lines = describeModeChanges(req.filename, result.modeChanges);
    expect(lines).toContain(`${req.filename}: bin/suidprog: mode 4755 -> 755 (setuid removed)`);
    expect(lines).toContain(`${req.filename}: bin/sgid: mode 2775 -> 755 (setgid removed)`);
    expect(lines).toContain(`${req.filename}: share/ww.txt: mode 666 -> 644 (world-writable removed)`);
    expect(lines).toContain(`${req.filename}: group write removed from 1 file (share/g.txt), as conda's umask does`);
    expect(lines.join("\n")).not.toContain("plain.txt");
  });
});

describe("hard links", () => {
  const P = "/opt/placeholder/for/the/build/prefix/long/enough";
  it.each(["conda", "tar.bz2"] as const)("writes a .%s's hard link to a plain file, and one to a patched file (read again), with the bytes each needs", async (format) => {
    const spec: PackageSpec = {
      index: { name: "links", version: "1.0", build: "h_0" },
      files: [
        { path: "share/plain", content: "plain bytes\n" },
        { path: "etc/conf", content: `prefix=${P}\n`, prefixPlaceholder: P },
        { path: "share/plain-link", content: "plain bytes\n", hardlinkTo: "share/plain" },
        { path: "etc/conf-link", content: `prefix=${P}\n`, prefixPlaceholder: P, hardlinkTo: "etc/conf" },
        { path: "etc/raw-link", content: `prefix=${P}\n`, hardlinkTo: "etc/conf" },
      ],
    };
    const req = await request(spec, { format });
    await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    expect(readFileSync(join(root, "share/plain-link"), "utf8")).toBe("plain bytes\n");
    expect(readFileSync(join(root, "etc/conf"), "utf8")).toBe("prefix=/opt/conda\n");
    expect(readFileSync(join(root, "etc/conf-link"), "utf8")).toBe("prefix=/opt/conda\n");
    // Not marked for patching: the archive's bytes, not the patched target's.
    expect(readFileSync(join(root, "etc/raw-link"), "utf8")).toBe(`prefix=${P}\n`);
  });

  it("refuses a hard link to a path the archive does not hold", async () => {
    const spec: PackageSpec = { index: { name: "links", version: "1.0", build: "h_0" }, files: [{ path: "share/l", content: "x", hardlinkTo: "share/missing" }] };
    await expect(installPackage(await request(spec))).rejects.toThrow(/share\/l is a hard link to "share\/missing", which the archive does not contain/);
  });
});

describe("prune and ELF", () => {
  const policy = { remove: ["lib/*.so*"], keep: [] };
  it.each([
    { is64: true, bigEndian: true },
    { is64: false, bigEndian: false },
  ])("keeps a library a program of the package needs (%o), removes one nobody needs", async (o) => {
    const spec: PackageSpec = {
      index: { name: "prog", version: "1.0", build: "h_0" },
      files: [
        { path: "bin/prog", content: makeElf(["libneeded.so.1"], o), mode: 0o755 },
        { path: "lib/libneeded.so.1", content: "needed" },
        { path: "lib/libunused.so.1", content: "unused" },
        { path: "lib/static.a", content: "static" },
      ],
    };
    const req = await request(spec, { prune: { remove: [...policy.remove, "lib/*.a"], keep: [] } });
    const r = await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    expect(existsSync(join(root, "lib/libneeded.so.1"))).toBe(true);
    expect(existsSync(join(root, "lib/libunused.so.1"))).toBe(false);
    expect(existsSync(join(root, "lib/static.a"))).toBe(false);
    expect(r.report.pruned["lib/*.so*"]).toEqual({ files: 1, bytes: 6 });
    const meta = JSON.parse(readFileSync(join(root, "conda-meta/prog-1.0-h_0.json"), "utf8")) as { files: string[] };
    expect(meta.files.sort()).toEqual(["bin/prog", "lib/libneeded.so.1"]);
  });

  it("keeps every library a rule matches when an ELF file of the package cannot be read (fails closed)", async () => {
    const damaged = makeElf(["libneeded.so.1"], { is64: true, bigEndian: false });
    const spec: PackageSpec = {
      index: { name: "prog", version: "1.0", build: "h_0" },
      files: [
        { path: "bin/prog", content: damaged.subarray(0, damaged.length - 4), mode: 0o755 },
        { path: "lib/libneeded.so.1", content: "needed" },
      ],
    };
    const req = await request(spec, { prune: policy });
    const r = await installPackage(req);
    expect(existsSync(join(req.outRoot, req.prefix, "lib/libneeded.so.1"))).toBe(true);
    expect(r.warnings.join("\n")).toMatch(/bin\/prog: cannot read its ELF headers, so no library of prog is pruned/);
  });
});

describe("paths.json against the archive", () => {
  it("warns when paths.json's size of a file is not the archive's and records the hash of what was written; trusts its sha256 otherwise, as conda does", async () => {
    const spec: PackageSpec = {
      index: { name: "claims", version: "1.0", build: "h_0" },
      files: [
        { path: "share/a", content: "actual", claimedContent: "claimed!" },
        { path: "share/b", content: "actual", claimedContent: "ACTUAL" },
      ],
    };
    const req = await request(spec);
    const r = await installPackage(req);
    expect(r.warnings).toEqual([`share/a: info/paths.json says 8 bytes, the archive has 6`]);
    const meta = JSON.parse(readFileSync(join(req.outRoot, req.prefix, "conda-meta/claims-1.0-h_0.json"), "utf8")) as { paths_data: { paths: { sha256: string; sha256_in_prefix: string }[] } };
    const [a, b] = meta.paths_data.paths;
    expect(a!.sha256_in_prefix).toBe(sha256Of(Buffer.from("actual")));
    // Same size: paths.json's sha256 is recorded as the file's, unhashed (conda's LinkPathAction does the same).
    expect(b!.sha256_in_prefix).toBe(sha256Of(Buffer.from("ACTUAL")));
    expect(b!.sha256).toBe(sha256Of(Buffer.from("ACTUAL")));
  });
});

/** A ZIP64 archive of stored members: every size and offset in the ZIP64 extra fields and end records. */
function zip64Stored(members: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const crc = zlib.crc32(m.data) >>> 0;
    const lh = Buffer.alloc(30 + 20);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(45, 4);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(0xffffffff, 18);
    lh.writeUInt32LE(0xffffffff, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(20, 28);
    lh.writeUInt16LE(1, 30);
    lh.writeUInt16LE(16, 32);
    lh.writeBigUInt64LE(BigInt(m.data.length), 34);
    lh.writeBigUInt64LE(BigInt(m.data.length), 42);
    locals.push(lh.subarray(0, 30), name, lh.subarray(30), m.data);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(45, 4);
    ch.writeUInt16LE(45, 6);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(0xffffffff, 20);
    ch.writeUInt32LE(0xffffffff, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(28, 30);
    ch.writeUInt32LE(0xffffffff, 42);
    const extra = Buffer.alloc(28);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(m.data.length), 4);
    extra.writeBigUInt64LE(BigInt(m.data.length), 12);
    extra.writeBigUInt64LE(BigInt(offset), 20);
    central.push(ch, name, extra);
    offset += 30 + name.length + 20 + m.data.length;
  }
  const cd = Buffer.concat(central);
  const z64 = Buffer.alloc(56);
  z64.writeUInt32LE(0x06064b50, 0);
  z64.writeBigUInt64LE(44n, 4);
  z64.writeUInt16LE(45, 12);
  z64.writeUInt16LE(45, 14);
  z64.writeBigUInt64LE(BigInt(members.length), 24);
  z64.writeBigUInt64LE(BigInt(members.length), 32);
  z64.writeBigUInt64LE(BigInt(cd.length), 40);
  z64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...locals, cd, z64, locator, eocd]);
}

describe("ZIP reading", () => {
  const spec: PackageSpec = { index: { name: "z", version: "1", build: "h0" }, files: [{ path: "share/z.txt", content: "zip64 works" }] };

  /** The members of the .conda dotConda makes, to re-wrap. */
  async function membersOf(): Promise<{ name: string; data: Buffer }[]> {
    const bytes = await dotConda(spec);
    return readZipMembers(bufferAccess(bytes)).map((m) => ({ name: m.name, data: bytes.subarray(m.offset, m.offset + m.size) }));
  }

  it("reads a .conda written as ZIP64", async () => {
    const bytes = zip64Stored(await membersOf());
    expect((await readPackageInfo({ bytes })).map((e) => e.path)).toContain("info/index.json");
    const files: string[] = [];
    await readPackageFiles({ bytes }, (h) => {
      const parts: Buffer[] = [];
      return { data: (c) => void parts.push(Buffer.from(c)), end: () => void files.push(`${h.path}=${Buffer.concat(parts).toString()}`) };
    });
    expect(files).toEqual(["share/z.txt=zip64 works"]);
  });

  it("refuses a member whose offset or size points outside the file, and a directory that claims too many members", async () => {
    const good = storedZip(await membersOf());
    const cdAt = good.readUInt32LE(good.length - 22 + 16);
    const past = Buffer.from(good);
    past.writeUInt32LE(0x7fffffff, cdAt + 20); // first member's compressed size
    past.writeUInt32LE(0x7fffffff, cdAt + 24);
    expect(() => readZipMembers(bufferAccess(past))).toThrow(ArchiveError);
    expect(() => readZipMembers(bufferAccess(past))).toThrow(/runs into the central directory or past the file/);
    const offset = Buffer.from(good);
    offset.writeUInt32LE(good.length + 10, cdAt + 42);
    expect(() => readZipMembers(bufferAccess(offset))).toThrow(/lies outside the file/);
    const many = Buffer.from(good);
    many.writeUInt16LE(5000, good.length - 22 + 10);
    expect(() => readZipMembers(bufferAccess(many))).toThrow(/claims 5000 members/);
    const cd = Buffer.from(good);
    cd.writeUInt32LE(good.length * 2, good.length - 22 + 16);
    expect(() => readZipMembers(bufferAccess(cd))).toThrow(ArchiveError);
    expect(() => readZipMembers(bufferAccess(Buffer.from("PK\x03\x04short")))).toThrow(/too short|no ZIP end/);
  });

  it("says a .conda cut in half is corrupt when installing, and writes no record", async () => {
    const dir = tmp();
    const w = await writePackage(dir, { index: { name: "cut", version: "1", build: "h0" }, files: [{ path: "share/big", content: Buffer.alloc(200_000, 7) }] });
    const cut = w.bytes.subarray(0, Math.floor(w.bytes.length / 2));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(w.path, cut);
    const req: InstallRequest = { archive: w.path, url: w.url, filename: w.filename, sha256: sha256Of(cut), prefix: "/opt/conda", outRoot: join(dir, "out") };
    await expect(installPackage(req)).rejects.toThrow(/corrupt \.conda/);
    expect(existsSync(join(req.outRoot, "opt/conda/conda-meta"))).toBe(false);
  });
});

describe("a hard link to a path the package later made a symlink", () => {
  it("copies the archive's bytes of the file, never what the symlink points to", async () => {
    const spec: PackageSpec = {
      index: { name: "swap", version: "1.0", build: "h_0" },
      files: [{ path: "share/a", content: "inside\n" }],
      raw: [
        // The same path again, now a symlink out of the prefix; then a hard link to that path.
        { name: "share/a", type: "symlink", linkname: "/etc/passwd" },
        { name: "share/b", type: "link", linkname: "share/a" },
      ],
    };
    spec.files.push({ path: "share/b", content: "inside\n", hardlinkTo: "share/a" });
    const req = await request({ ...spec, files: [spec.files[0]!, { path: "share/b", content: "inside\n" }] });
    await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    expect(readFileSync(join(root, "share/b"), "utf8")).toBe("inside\n");
    expect(lstatSync(join(root, "share/a")).isSymbolicLink()).toBe(true);
  });
});
