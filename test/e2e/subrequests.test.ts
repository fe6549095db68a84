// `docker buildx build --call targets|outline|check` and `--check` through a real BuildKit: buildx
// reads our result.json with its own printers, so these check the shapes as buildx understands
// them. --call needs buildx 0.14+: of the containerd-store engines, only those whose buildx has it.
import { describe, expect, it } from "vitest";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseImage, build, cacheEngines, channelUrl, docker, type Engine, executedSteps, header, project } from "./harness";

const callEngines = cacheEngines.filter((e) => docker(e, ["buildx", "build", "--help"]).stdout.includes("--call"));

const clean = `${header()}name: sub
channels:
  - conda-forge
dependencies:
  - python=3.12
  - pip=24.0
  - pip:
      - rich==13.7.1
image:
  base: ${baseImage}
  private-channels:
    - https://conda.example/private
`;

/** Line 5: defaults; line 8: an unpinned numpy (there is no lock). */
const broken = `${header()}name: sub
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.12
  - numpy
image:
  base: ${baseImage}
`;

const call = (on: Engine, text: string, ...args: string[]) => build(on, project({ "environment.yml": text }), ["-f", "environment.yml", ...args, "."]);

/** Our build steps that ran (named "[solve ...]", "[install ...]"...): none, a subrequest only reads the input file. */
const ourSteps = (output: string) => executedSteps(output).filter((s) => s.startsWith("[") && !s.startsWith("[internal]"));

describe("subrequests", () => {
  it("at least one containerd-store engine's buildx has --call", () => {
    expect(callEngines.map((e) => e.name)).toContain("docker28");
  });
});

describe.each(callEngines)("--call and --check on $label", (on) => {
  it("--call subrequests.describe lists the four requests answered: outline, targets, lint, subrequests.describe", () => {
    const r = call(on, clean, "--call", "subrequests.describe");
    expect(r.code, r.output).toBe(0);
    const names = r.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(["outline", "targets", "lint", "subrequests.describe"]);
  });

  it("--call targets prints image (default), lock and plan with their descriptions, and builds nothing", () => {
    const r = call(on, clean, "--call", "targets");
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/^TARGET +DESCRIPTION\nimage \(default\) +the slim image: the environment installed on the base image\nlock +conda-lock\.yml, .*\nplan +plan\.json, /);
    expect(ourSteps(r.output)).toEqual([]);
  });

  it("--call outline,format=json: BASE_IMAGE's value and its line in the file (image.base, line 11), a given build arg's value, the default prefix, the secrets with conda-auth required (private-channels' entry, line 13)", () => {
    const r = call(on, clean, "--call", "outline,format=json", "--build-arg", "SOURCE_DATE_EPOCH=1700000000");
    expect(r.code, r.output).toBe(0);
    const o = JSON.parse(r.stdout) as { name: string; args: { name: string; value?: string; location?: { ranges: { start: { line: number } }[] } }[]; secrets: { name: string; required?: boolean; location?: { ranges: { start: { line: number } }[] } }[] };
    const arg = (n: string) => o.args.find((a) => a.name === n)!;
    expect(o.name).toBe("image");
    expect([arg("BASE_IMAGE").value, arg("BASE_IMAGE").location?.ranges[0]!.start.line]).toEqual([baseImage, 11]);
    expect(arg("SOURCE_DATE_EPOCH").value).toBe("1700000000");
    expect(arg("PREFIX").value).toBe("/opt/conda");
    expect(o.secrets.map((s) => [s.name, s.required ?? false, s.location?.ranges[0]!.start.line])).toEqual([
      ["conda-auth", true, 13],
      ["pip-conf", false, 9],
      ["netrc", false, 9],
    ]);
  });

  it("--call check prints each broken rule with its URL, detail and marked line (DefaultsChannel at 5, UnpinnedWithoutLock at 8) and exits 1", () => {
    const r = call(on, broken, "--call", "check");
    expect(r.code, r.output).toBe(1);
    expect(r.stdout).toContain("Check complete, 2 warnings have been found!");
    expect(r.stdout).toContain('WARNING: DefaultsChannel - https://github.com/org/conda-frontend#defaultschannel\nchannels: the "defaults" channel needs Anaconda\'s terms of service and is not supported; use conda-forge or a full URL\nenvironment.yml:5\n');
    expect(r.stdout).toMatch(/ 5 \| >>>\s+- defaults\n/);
    expect(r.stdout).toContain("WARNING: UnpinnedWithoutLock - https://github.com/org/conda-frontend#unpinnedwithoutlock\ndependencies: numpy has no version and there is no lock file");
    expect(r.stdout).toMatch(/ 8 \| >>>\s+- numpy\n/);
    expect(ourSteps(r.output)).toEqual([]);
  });

  it("--check fails (non-zero exit) on a file with a package listed twice, printing the rule, both lines (8, and 6 where it was first listed)", () => {
    const r = call(on, clean.replace("  - pip=24.0\n", "  - pip=24.0\n  - python=3.12\n"), "--check");
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain("WARNING: DuplicatePackage - https://github.com/org/conda-frontend#duplicatepackage\ndependencies: python is already listed on line 6; keep one entry\nenvironment.yml:6\n");
    expect(r.output).toMatch(/ 6 \| >>>\s+- python=3\.12\n[^]* 8 \| >>>\s+- python=3\.12\n/);
  });

  it("--check fails on a file that does not parse, printing the parse error as buildx's ERROR with its marked line (an unknown key at 11) and the UnknownKey finding", () => {
    const r = call(on, clean.replace("  base:", "  bas:"), "--check");
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('ERROR: environment.yml:11: image: unknown key "bas" (did you mean "base"?)');
    expect(r.output).toMatch(/11 \| >>>\s+bas: /);
    expect(r.output).toContain("WARNING: UnknownKey - https://github.com/org/conda-frontend#unknownkey");
  });

  it("--check reads the lock beside the file through the gateway: conda-lock.yml without pip is StaleLock at pip's line 7; a LOCKFILE that is not there is UnreadableLock", () => {
    const explicit = `@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/python-3.12.1-hab00c5b_1_cpython.conda#${"a".repeat(32)}\n`;
    const dir = project({ "environment.yml": clean, "conda-lock.yml": explicit });
    const r = build(on, dir, ["-f", "environment.yml", "--check", "."]);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain("WARNING: StaleLock - https://github.com/org/conda-frontend#stalelock\nconda-lock.yml is stale: it has no pip for linux-64; refresh it with --target lock\nenvironment.yml:7\n");
    const missing = build(on, dir, ["-f", "environment.yml", "--check", "--build-arg", "LOCKFILE=locks/none.lock", "."]);
    expect(missing.code, missing.output).not.toBe(0);
    expect(missing.output).toContain('WARNING: UnreadableLock - https://github.com/org/conda-frontend#unreadablelock\ncannot find the lock file "locks/none.lock" beside the input file');
  });

  it("--check accepts the conda-lock.yml a --target lock build wrote for the same file, and calls it StaleLock (at the dependency's line 6) once a pin changes", () => {
    const text = `${header()}name: sub\nchannels:\n  - ${channelUrl}\ndependencies:\n  - python=3.12\nimage:\n  base: ${baseImage}\n`;
    const dir = project({ "environment.yml": text });
    const lock = build(on, dir, ["--network=host", "-f", "environment.yml", "--target", "lock", "--output", `type=local,dest=${join(dir, "out")}`, "."]);
    expect(lock.code, lock.output).toBe(0);
    copyFileSync(join(dir, "out/conda-lock.yml"), join(dir, "conda-lock.yml"));
    const fresh = build(on, dir, ["-f", "environment.yml", "--check", "."]);
    expect(fresh.code, fresh.output).toBe(0);
    expect(fresh.output).toContain("Check complete, no warnings found.");
    writeFileSync(join(dir, "environment.yml"), readFileSync(join(dir, "environment.yml"), "utf8").replace("python=3.12\n", "python=3.12.1\n"));
    const stale = build(on, dir, ["-f", "environment.yml", "--check", "."]);
    expect(stale.code, stale.output).not.toBe(0);
    expect(stale.output).toContain("WARNING: StaleLock - https://github.com/org/conda-frontend#stalelock\nconda-lock.yml is stale: it was made from a different environment.yml (content hash for linux-64 differs); refresh it with --target lock\nenvironment.yml:6\n");
  });

  it("a clean file passes --check: exit 0 and buildx's no-warnings line", () => {
    const r = call(on, clean, "--check");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("Check complete, no warnings found.");
  });
});
