// DT_NEEDED from real ELF files of this machine and from ELF files made here in every class and
// byte order; [] for anything that is not ELF, undefined (fail closed) for ELF that cannot be read.
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isElf, neededLibraries } from "../../../src/build-step/install/elf";
import { fileAccess } from "../../../src/build-step/install/random-access";
import { makeElf } from "./make-elf";

describe("neededLibraries", () => {
  it("reads the libraries a real dynamically linked program needs, from memory and from the file by offset", () => {
    const env = readFileSync("/usr/bin/env");
    expect(isElf(env)).toBe(true);
    expect(neededLibraries(env)).toContain("libc.so.6");
    // Node is linked against the C++ runtime as well.
    expect(neededLibraries(readFileSync(process.execPath))).toEqual(expect.arrayContaining(["libc.so.6", "libstdc++.so.6"]));
    const fd = openSync(process.execPath, "r");
    try {
      expect(neededLibraries(fileAccess(fd, fstatSync(fd).size))).toEqual(neededLibraries(readFileSync(process.execPath)));
    } finally {
      closeSync(fd);
    }
  });

  it.each([
    { is64: true, bigEndian: false },
    { is64: true, bigEndian: true },
    { is64: false, bigEndian: false },
    { is64: false, bigEndian: true },
  ])("reads DT_NEEDED of a made ELF file (64-bit %s)", (o) => {
    const elf = makeElf(["libpython3.12.so.1.0", "libc.so.6"], o);
    expect(neededLibraries(elf)).toEqual(["libpython3.12.so.1.0", "libc.so.6"]);
  });

  it("a big-endian file read as little-endian would not give its names: the byte order matters", () => {
    const elf = makeElf(["libz.so.1"], { is64: true, bigEndian: true });
    const wrong = Buffer.from(elf);
    wrong[5] = 1; // claims little-endian
    expect(neededLibraries(wrong)).not.toEqual(["libz.so.1"]);
  });

  it("gives [] for text and for a static program, undefined for ELF that is truncated, damaged or of an unknown byte order", () => {
    expect(neededLibraries(Buffer.from("#!/bin/sh\necho hi\n"))).toEqual([]);
    expect(neededLibraries(makeElf([], { is64: true, bigEndian: false }))).toEqual([]);
    const env = readFileSync("/usr/bin/env");
    expect(neededLibraries(env.subarray(0, 100))).toBeUndefined();
    const damaged = Buffer.from(env);
    damaged.writeBigUInt64LE(0xffffffffn, 0x20); // program headers beyond the end
    expect(neededLibraries(damaged)).toBeUndefined();
    const odd = makeElf(["libz.so.1"], { is64: true, bigEndian: false });
    odd[5] = 3;
    expect(neededLibraries(odd)).toBeUndefined();
    const unterminated = makeElf(["libz.so.1"], { is64: true, bigEndian: false });
    expect(neededLibraries(unterminated.subarray(0, unterminated.length - 1))).toBeUndefined();
  });
});
