// Solving and locks through a real BuildKit, against the fixture channel built from real
// binaries (test/fixtures/channel) and served on 127.0.0.1. Builds run with --network=host so
// the solve step reaches it.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allEngines, baseImage, build, channelUrl, daemonUp, engines, executedSteps, header, lockedVersions, project } from "./harness";

const engine = engines[0]!;

function envYml(deps: string[], extra = ""): string {
  return `${header()}name: solve-test
channels:
  - ${channelUrl}
dependencies:
${deps.map((d) => `  - ${d}`).join("\n")}
image:
  base: ${baseImage}
${extra}`;
}

function lockBuild(dir: string, file = "environment.yml", extra: string[] = [], on = engine) {
  return build(on, dir, ["--network=host", "-f", file, "--target", "lock", "--output", `type=local,dest=${join(dir, "out")}`, ...extra, "."]);
}

/** The solve exec steps that ran (the small request file beside them does not count). */
/**
 * BuildKit's cache outlives a test run: a spec that is always satisfiable but unique to this run
 * makes the first solve of a test really run.
 */
const fresh = `greet-data >=0.0.${Date.now()}`;

const solveSteps = (output: string) => executedSteps(output).filter((s) => /^\[solve [^\]]+\] \d+ specs? from/.test(s));

describe.each(allEngines)("--target lock on $label", (on) => {
  it("exports a conda-lock.yml that honours the pins, re-solves only when a dependency changes, and builds from the lock with no solve", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "libgreet=1.0", "greetpy=0.1", fresh]) });
    const first = lockBuild(dir, "environment.yml", [], on);
    expect(first.code, first.output).toBe(0);
    expect(solveSteps(first.output), first.output).toHaveLength(1);
    expect(first.output).toMatch(/\[solve linux-64\] 4 specs from 1 channel/);
    // __glibc comes from the base image's dpkg records (Debian 12: glibc 2.36), not a default.
    expect(first.output).toMatch(/linux-64: virtual packages __archspec=1=x86_64 __glibc=2\.36=0 __linux=4\.18=0 __unix=0=0/);
    const lockText = readFileSync(join(dir, "out/conda-lock.yml"), "utf8");
    const versions = lockedVersions(lockText);
    expect(versions.libgreet).toBe("1.0");
    expect(versions.greetpy).toBe("0.1");
    expect(versions.python).toMatch(/^3\.12\./);
    expect(versions["greet-data"]).toBeDefined();
    expect(Object.keys(versions).some((n) => n.startsWith("__"))).toBe(false);
    expect(lockText).toMatch(/sha256: "?[0-9a-f]{64}/);

    // Unchanged file: the solve step is cached.
    const again = lockBuild(dir, "environment.yml", [], on);
    expect(again.code, again.output).toBe(0);
    expect(solveSteps(again.output), again.output).toEqual([]);
    expect(again.output).toMatch(/\[solve linux-64\] 4 specs from 1 channel\n#\d+ CACHED/);

    // --no-cache solves again.
    const forced = lockBuild(dir, "environment.yml", ["--no-cache"], on);
    expect(forced.code, forced.output).toBe(0);
    expect(solveSteps(forced.output)).toHaveLength(1);

    // One edited dependency line: solved again, and the pin moves.
    writeFileSync(join(dir, "environment.yml"), envYml(["python=3.12", "libgreet=2.0", "greetpy=0.1", fresh]));
    const edited = lockBuild(dir, "environment.yml", [], on);
    expect(edited.code, edited.output).toBe(0);
    expect(solveSteps(edited.output)).toHaveLength(1);
    const editedLock = readFileSync(join(dir, "out/conda-lock.yml"), "utf8");
    expect(lockedVersions(editedLock).libgreet).toBe("2.0");

    // The lock beside environment.yml: no solve step at all, the same package list out.
    copyFileSync(join(dir, "out/conda-lock.yml"), join(dir, "conda-lock.yml"));
    const fromLock = lockBuild(dir, "environment.yml", [], on);
    expect(fromLock.code, fromLock.output).toBe(0);
    expect(fromLock.output).not.toContain("[solve");
    expect(lockedVersions(readFileSync(join(dir, "out/conda-lock.yml"), "utf8"))).toEqual(lockedVersions(editedLock));

    // The image target with the lock runs no solver either.
    const image = build(on, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(image.code, image.output).toBe(0);
    expect(image.output).not.toContain("[solve");

    // A lock made from another environment.yml is refused, with how to refresh it.
    writeFileSync(join(dir, "environment.yml"), envYml(["python=3.12", "libgreet=1.0", "greetpy=0.1", fresh]));
    const stale = build(on, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(stale.code).not.toBe(0);
    expect(stale.output).toMatch(/conda-lock\.yml is stale/);
    expect(stale.output).toContain("--target lock --output type=local,dest=.");
  });
});

describe("solving in a build step, and lock files", () => {
  it("reads an explicit @EXPLICIT lock named by image.lockfile", () => {
    const dir = project({ "environment.yml": envYml(["libgreet=2.0"]) });
    const solved = lockBuild(dir);
    expect(solved.code, solved.output).toBe(0);
    const lock = readFileSync(join(dir, "out/conda-lock.yml"), "utf8");
    const urls = [...lock.matchAll(/url: (http\S+\.(?:conda|tar\.bz2))/g)].map((m) => m[1]!);
    const sha = [...lock.matchAll(/sha256: "?([0-9a-f]{64})/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    expect(sha).toHaveLength(urls.length);
    writeFileSync(join(dir, "explicit.txt"), `# platform: linux-64\n@EXPLICIT\n${urls.map((u, i) => `${u}#sha256:${sha[i]}`).join("\n")}\n`);
    writeFileSync(join(dir, "environment.yml"), envYml(["libgreet=2.0"], "  lockfile: explicit.txt\n"));
    const res = lockBuild(dir);
    expect(res.code, res.output).toBe(0);
    expect(res.output).not.toContain("[solve");
    expect(lockedVersions(readFileSync(join(dir, "out/conda-lock.yml"), "utf8")).libgreet).toBe("2.0");
  });
});

describe("solve errors name the file and line, and the daemon stays up", () => {
  const cases: { name: string; deps: string[]; channel?: string; expect: RegExp[]; line?: number }[] = [
    { name: "unsatisfiable", deps: ["greet", "libgreet=1.0"], expect: [/cannot solve the environment for linux-64 \(involving (greet, libgreet=1\.0|libgreet=1\.0, greet)\)/], line: 6 },
    { name: "unknown package", deps: ["python=3.12", "no-such-package"], expect: [/cannot solve the environment for linux-64 \(involving no-such-package\)/, /no-such-package/], line: 7 },
    { name: "invalid match spec", deps: ["python=3.12", "numpy >=>1"], expect: [/environment\.yml:7: dependencies: invalid version constraint ">=>1"/], line: 7 },
    { name: "unreachable channel", deps: ["python"], channel: "http://127.0.0.1:9/nowhere", expect: [/cannot reach the channel: http:\/\/127\.0\.0\.1:9\/nowhere/, /environment\.yml:4: solving failed/] },
  ];
  it.each(cases)("$name", (c) => {
    const text = envYml(c.deps).replace(`  - ${channelUrl}`, `  - ${c.channel ?? channelUrl}`);
    const dir = project({ "environment.yml": text });
    const res = lockBuild(dir);
    expect(res.code).not.toBe(0);
    for (const re of c.expect) expect(res.output).toMatch(re);
    if (c.line) expect(res.output).toMatch(new RegExp(`\\n\\s*${c.line} \\| >>>`));
    expect(daemonUp(engine)).toBe(true);
  });

  it("a lock that lacks the platform being built", () => {
    const dir = project({ "environment.yml": envYml(["libgreet"]) });
    expect(lockBuild(dir).code).toBe(0);
    copyFileSync(join(dir, "out/conda-lock.yml"), join(dir, "conda-lock.yml"));
    const res = lockBuild(dir, "environment.yml", ["--platform", "linux/arm64"]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/conda-lock\.yml has no packages for linux-aarch64 \(linux\/arm64\); it covers linux-64/);
    expect(daemonUp(engine)).toBe(true);
  });

  it("a corrupted lock file", () => {
    const dir = project({ "environment.yml": envYml(["libgreet"]), "conda-lock.yml": "version: 1\nmetadata:\n  platforms: [linux-64\npackage: []\n" });
    const res = lockBuild(dir);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/conda-lock\.yml:\d+: invalid YAML/);
    expect(daemonUp(engine)).toBe(true);
  });
});

describe("multi-platform locks (containerd store: buildx's docker driver builds several platforms only there)", () => {
  it("locks linux-64 and linux-aarch64 in one solve step", () => {
    const dir = project({ "environment.yml": envYml(["libgreet=2.0", "greet"], "  virtual-packages:\n    __glibc: \"2.36\"\n") });
    const res = lockBuild(dir, "environment.yml", ["--platform", "linux/amd64,linux/arm64"], engines[1]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\[solve linux-64, linux-aarch64\] 2 specs from 1 channel/);
    const lock = readFileSync(join(dir, "out/conda-lock.yml"), "utf8");
    expect(lockedVersions(lock, "linux-64").libgreet).toBe("2.0");
    expect(lockedVersions(lock, "linux-aarch64").libgreet).toBe("2.0");
    expect(lockedVersions(lock, "linux-aarch64").greet).toBeDefined();
  });
});

describe("--target plan", () => {
  it("writes plan.json: the solve request, the locked packages, the base and how this daemon stacks layers", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "greet"]) });
    const out = join(dir, "plan-out");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--target", "plan", "--output", `type=local,dest=${out}`, "."]);
    expect(res.code, res.output).toBe(0);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8")) as {
      input: { name: string };
      build: { prefix: string; base: { ref: string } };
      daemon: { stack: string };
      lock: { lock: { packages: { name: string; platform: string }[] }; solve?: { specs: string[] } };
      platforms: { platform: { Architecture: string }; base: { digest?: string } }[];
    };
    expect(plan.input.name).toBe("environment.yml");
    expect(plan.build.prefix).toBe("/opt/conda");
    expect(plan.build.base.ref).toBe(baseImage);
    expect(plan.daemon.stack).toBe(engine.containerdStore ? "merge" : "copy");
    expect(plan.lock.solve?.specs).toEqual(["python=3.12", "greet"]);
    expect(plan.lock.lock.packages.map((p) => p.name)).toEqual(expect.arrayContaining(["python", "greet", "libgreet"]));
    expect(plan.platforms.map((p) => p.platform.Architecture)).toEqual(["amd64"]);
    // The classic store resolves an image it holds locally without a manifest digest; a pulled one has it.
    if (engine.containerdStore) expect(plan.platforms[0]!.base.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
