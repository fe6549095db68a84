// Property-based tests of the archive readers (src/conda/install/tar.ts, zip.ts, elf.ts, and
// archive.ts over whole packages): real archives with bytes overwritten, cut short or fed in odd
// chunks. The tar and ZIP readers either read or throw an ArchiveError; the ELF reader never
// throws (a list, [] or undefined); none takes long.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArchiveError, readPackageFiles, readPackageInfo } from "../../src/build-step/install/archive";
import { neededLibraries } from "../../src/build-step/install/elf";
import { bufferAccess } from "../../src/build-step/install/random-access";
import { TarReader } from "../../src/build-step/install/tar";
import { readZipMembers } from "../../src/build-step/install/zip";
import { makeElf } from "../build-step/install/make-elf";
import { dotConda, type PackageSpec, tarBz2, tarOf } from "../build-step/install/make-package";
import { maxCallMs, params, timeout, typedOutcome } from "./helpers";

/** Overwrites some bytes of `base` (positions and values drawn), optionally cut at a drawn length. */
function damaged(base: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .record({
      edits: fc.array(fc.record({ at: fc.nat({ max: base.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
      cut: fc.option(fc.nat({ max: base.length }), { freq: 3 }),
    })
    .map(({ edits, cut }) => {
      const b = Buffer.from(base);
      for (const e of edits) b[e.at] = e.value;
      return cut === null ? b : b.subarray(0, cut);
    });
}

function readTar(tar: Buffer, chunk: number): number {
  let bytes = 0;
  const reader = new TarReader(() => ({ data: (c) => void (bytes += c.length), end: () => {} }));
  for (let at = 0; at < tar.length; at += chunk) reader.push(tar.subarray(at, at + chunk));
  reader.end();
  return bytes;
}

const spec: PackageSpec = {
  index: { name: "fuzz", version: "1.0", build: "h0" },
  files: [
    { path: "bin/tool", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
    { path: "lib/libx.so.1", content: Buffer.alloc(3000, 7) },
    { path: "lib/libx.so", linkTarget: "libx.so.1" },
    { path: `share/${"long-name/".repeat(12)}file.txt`, content: "long" },
  ],
};

describe("archive readers fuzz", () => {
  it(
    "TarReader: a damaged or cut tar, fed in any chunk size, reads or throws an ArchiveError",
    async () => {
      const tar = await tarOf(spec.files.map((f) => ({ name: f.path, type: f.linkTarget ? "symlink" : "file", data: f.content ? Buffer.from(f.content) : undefined, linkname: f.linkTarget, mode: 0o644, mtime: 0 })));
      fc.assert(
        fc.property(damaged(tar), fc.integer({ min: 1, max: 4096 }), (bytes, chunk) => {
          typedOutcome(() => readTar(bytes, chunk), [ArchiveError]);
        }),
        params,
      );
    },
    timeout,
  );

  it(
    "readZipMembers: a damaged or cut .conda's directory reads (members inside the file) or throws an ArchiveError",
    async () => {
      const conda = await dotConda(spec);
      fc.assert(
        fc.property(damaged(conda), (bytes) => {
          const out = typedOutcome(() => readZipMembers(bufferAccess(bytes)), [ArchiveError]);
          if (out.ok) for (const m of out.value) expect(m.offset + m.size).toBeLessThanOrEqual(bytes.length);
        }),
        params,
      );
    },
    timeout,
  );

  it(
    "readPackageInfo and readPackageFiles: a damaged .conda or .tar.bz2 reads or throws an ArchiveError, quickly",
    async () => {
      const conda = await dotConda(spec);
      const bz2 = await tarBz2(spec);
      // Whole packages through the decompressors: fewer runs (bzip2 in JS is slow).
      const some = { ...params, numRuns: Math.max(20, Math.floor((params.numRuns ?? 100) / 5)) };
      await fc.assert(
        fc.asyncProperty(fc.oneof(damaged(conda), damaged(bz2)), async (bytes) => {
          const started = performance.now();
          for (const read of [() => readPackageInfo({ bytes }), () => readPackageFiles({ bytes }, () => ({ data: () => {}, end: () => {} }))]) {
            try {
              await read();
            } catch (e) {
              if (!(e instanceof ArchiveError)) throw new Error(`threw ${(e as Error).constructor?.name}, not ArchiveError: ${(e as Error).stack}`);
            }
          }
          expect(performance.now() - started).toBeLessThan(maxCallMs * 5);
        }),
        some,
      );
    },
    timeout,
  );

  it(
    "neededLibraries: damaged ELF files of every class and byte order give names, [] or undefined, and never throw",
    () => {
      const elves = [
        makeElf(["libz.so.1", "libc.so.6"], { is64: true, bigEndian: false }),
        makeElf(["libz.so.1"], { is64: true, bigEndian: true }),
        makeElf(["libc.so.6"], { is64: false, bigEndian: false }),
        makeElf(["libm.so.6"], { is64: false, bigEndian: true }),
      ];
      fc.assert(
        fc.property(fc.constantFrom(...elves).chain(damaged), (bytes) => {
          const out = typedOutcome(() => neededLibraries(bytes), []);
          if (out.ok && out.value !== undefined) for (const n of out.value) expect(typeof n).toBe("string");
        }),
        params,
      );
    },
    timeout,
  );
});
