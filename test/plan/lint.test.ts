// The lint rules of --call check: each rule on a file that breaks it and on one that does not,
// with the line each finding points at.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveChannel } from "../../src/conda/channels";
import { parseEnvironment } from "../../src/input/environment";
import { type LockedPackage, splitArchiveName, writeCondaLock } from "../../src/input/lock";
import { allRules, type LintLock, lint, pinsConflict, rules } from "../../src/plan/lint";
import { lockContentHash } from "../../src/plan/lock-request";
import { planBuild } from "../../src/plan/plan";
import { planOptions } from "./helpers";


const check = (text: string, lock?: LintLock, ...raw: string[]) => lint("environment.yml", text, planOptions(...raw), lock);
/** rule name @ first line, for compact assertions. */
const found = (text: string, lock?: LintLock, ...raw: string[]) => check(text, lock, ...raw).warnings.map((w) => `${w.rule.name}@${w.ranges[0]?.start.line ?? "-"}`);

const pinned = "name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.12\n  - numpy=1.26\n";

function ourLock(envText: string): string {
  const conda = planBuild(parseEnvironment("environment.yml", envText), planOptions()).conda;
  const filename = "python-3.12.1-hab00c5b_1_cpython.conda";
  const pkg: LockedPackage = { ...splitArchiveName(filename)!, platform: "linux-64", manager: "conda", url: `https://conda.anaconda.org/conda-forge/linux-64/${filename}`, filename, md5: "a".repeat(32), sha256: "b".repeat(64), dependencies: {}, category: "main", optional: false };
  return writeCondaLock({ version: 1, platforms: ["linux-64"], channels: ["https://conda.anaconda.org/conda-forge"], contentHash: { "linux-64": lockContentHash(conda, "linux-64") }, sources: ["environment.yml"], packages: [pkg], ours: true });
}

describe("lint rules", () => {
  it("every rule has a name, a description and a README anchor made of its lower-cased name", () => {
    for (const r of allRules) {
      expect(r.name).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(r.description.length).toBeGreaterThan(10);
      expect(r.url).toBe(`https://github.com/org/conda-frontend#${r.name.toLowerCase()}`);
    }
  });

  it("every rule's URL lands on a README heading of its own under Lint rules (GitHub's anchor of \"#### Name\" is the lower-cased name)", () => {
    const readme = readFileSync(resolve(__dirname, "../../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Lint rules"));
    for (const r of allRules) expect(section, r.name).toMatch(new RegExp(`^#### ${r.name}$`, "m"));
  });

  it("a fully pinned file without a lock has no findings and no build error", () => {
    expect(check(pinned)).toEqual({ warnings: [] });
  });

  it("UnpinnedWithoutLock: each dependency without a version, at its line, only when there is no lock", () => {
    const text = "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - numpy\n  - conda-forge::rich\n";
    expect(found(text)).toEqual(["UnpinnedWithoutLock@4", "UnpinnedWithoutLock@5"]);
    expect(check(text).warnings[0]!.detail).toBe("dependencies: numpy has no version and there is no lock file; pin it (e.g. numpy=1.2) or build from a lock (--target lock)");
    expect(found(text, { fileName: "conda-lock.yml", text: ourLock(text) })).toEqual([]);
  });

  it("DefaultsChannel: the defaults channel at its line, in the words of the build's error", () => {
    const r = check("channels:\n  - conda-forge\n  - defaults\ndependencies: [python=3.12]\n");
    expect(r.warnings.map((w) => [w.rule.name, w.ranges[0]!.start.line, w.detail])).toEqual([["DefaultsChannel", 3, `channels: ${errorOf(() => resolveChannel("defaults"))}`]]);
    expect(r.buildError).toBeUndefined();
  });

  it("InvalidChannel: a channel with an unsupported URL scheme", () => {
    expect(found("channels: [ftp://x.example/c]\ndependencies: [python=3.12]\n")).toEqual(["InvalidChannel@1"]);
  });

  it("PipWithoutPip: a pip: list with no pip among the dependencies points at the list's first entry", () => {
    expect(found("channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n      - rich==13.7.1\n")).toEqual(["PipWithoutPip@5"]);
    expect(found("channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip=24.0\n  - pip:\n      - rich==13.7.1\n")).toEqual([]);
  });

  it("DuplicatePackage: the second entry of a conda or pip name, pointing at both lines", () => {
    const text = "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - numpy>=1.20\n  - pip=24.0\n  - Python=3.12.4\n  - pip:\n      - Rich_Text==1\n      - rich-text\n";
    const r = check(text);
    expect(r.warnings.map((w) => [w.rule.name, w.ranges.map((x) => x.start.line)])).toEqual([
      ["DuplicatePackage", [6, 3]],
      ["DuplicatePackage", [9, 8]],
    ]);
    expect(r.warnings[0]!.detail).toBe("dependencies: python is already listed on line 3; keep one entry");
  });

  it("ConflictingPins: two pins no release satisfies together, at the second with the first's line", () => {
    const r = check("channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy=1.26\n  - python==3.12.1\n");
    expect(r.warnings.map((w) => [w.rule.name, w.ranges.map((x) => x.start.line), w.detail])).toEqual([["ConflictingPins", [5, 3], "dependencies: python is pinned to ==3.12.1 here and to =3.11 on line 3"]]);
  });

  it("pinsConflict: prefix pins meet their releases; ranges are never called a conflict", () => {
    expect(pinsConflict("=3.12", "3.12.4")).toBe(false);
    expect(pinsConflict("3.12.*", "==3.12.4")).toBe(false);
    expect(pinsConflict("=3.1", "=3.12")).toBe(true);
    expect(pinsConflict(">=3.10", "=3.9")).toBe(false);
    expect(pinsConflict("", "=3.9")).toBe(false);
  });

  it("StaleLock: our lock made from another file is stale (content hash), at the dependencies; the same file's lock is not", () => {
    const lockText = ourLock(pinned);
    expect(found(pinned, { fileName: "conda-lock.yml", text: lockText })).toEqual([]);
    const changed = pinned.replace("numpy=1.26", "numpy=1.25");
    const r = check(changed, { fileName: "conda-lock.yml", text: lockText });
    expect(r.warnings.map((w) => [w.rule.name, w.ranges[0]!.start.line, w.detail])).toEqual([["StaleLock", 4, "conda-lock.yml is stale: it was made from a different environment.yml (content hash for linux-64 differs); refresh it with --target lock"]]);
  });

  it("StaleLock: an @EXPLICIT lock missing a dependency, at that dependency", () => {
    const explicit = "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/python-3.12.1-hab00c5b_1_cpython.conda#" + "a".repeat(32) + "\n";
    expect(found(pinned, { fileName: "explicit.txt", text: explicit })).toEqual(["StaleLock@5"]);
  });

  it("UnreadableLock: a named lock that is not there, at image.lockfile", () => {
    const text = `${pinned}image:\n  lockfile: locks/env.lock\n`;
    expect(found(text, { fileName: "locks/env.lock", range: parseEnvironment("environment.yml", text).image.lockfile!.range })).toEqual(["UnreadableLock@7"]);
  });

  it("UnknownKey: the parse's unknown key becomes the build error and a finding at its line", () => {
    const r = check("channels: [conda-forge]\ndependencies: [python=3.12]\nimage:\n  bas: x\n");
    expect(r.buildError?.message).toMatch(/^environment\.yml:4: image: unknown key "bas" \(did you mean "base"\?\)/);
    expect(r.buildError?.range?.start.line).toBe(4);
    expect(r.warnings.map((w) => `${w.rule.name}@${w.ranges[0]!.start.line}`)).toEqual(["UnknownKey@4"]);
  });

  it("a file that does not parse (bad YAML) is a build error with its line and no findings", () => {
    const r = check("dependencies:\n  - [python\n");
    expect(r.warnings).toEqual([]);
    expect(r.buildError?.message).toMatch(/^environment\.yml:\d+: invalid YAML/);
  });

  it("a file that parses but cannot be planned (bad platform) is a build error next to the findings", () => {
    const r = check("channels: [conda-forge]\ndependencies: [numpy]\nimage:\n  platforms: [plan9/amd64/x/y]\n");
    expect(r.warnings.map((w) => w.rule.name)).toEqual(["UnpinnedWithoutLock"]);
    expect(r.buildError?.message).toMatch(/^environment\.yml:4: image\.platforms: /);
  });

  it("IgnoredPrefix: conda env export's prefix: line", () => {
    expect(found(`${pinned}prefix: /home/me/miniconda3/envs/x\n`)).toEqual(["IgnoredPrefix@6"]);
  });

  it("a finding's rule is one of the documented rules", () => {
    expect(check("channels: [defaults]\ndependencies: [numpy]\n").warnings.every((w) => Object.values(rules).includes(w.rule as never))).toBe(true);
  });
});

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}
