// DT_NEEDED from real ELF files of this machine, and nothing from anything else.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isElf, neededLibraries } from "../../../src/conda/install/elf";

describe("neededLibraries", () => {
  it("reads the libraries a real dynamically linked program needs", () => {
    const env = readFileSync("/usr/bin/env");
    expect(isElf(env)).toBe(true);
    expect(neededLibraries(env)).toContain("libc.so.6");
    // Node is linked against the C++ runtime as well.
    expect(neededLibraries(readFileSync(process.execPath))).toEqual(expect.arrayContaining(["libc.so.6", "libstdc++.so.6"]));
  });

  it("gives nothing for text, truncated or damaged ELF data", () => {
    expect(neededLibraries(Buffer.from("#!/bin/sh\necho hi\n"))).toEqual([]);
    const env = readFileSync("/usr/bin/env");
    expect(neededLibraries(env.subarray(0, 100))).toEqual([]);
    const damaged = Buffer.from(env);
    damaged.writeBigUInt64LE(0xffffffffn, 0x20); // program headers beyond the end
    expect(neededLibraries(damaged)).toEqual([]);
  });
});
