// checkLock: a given lock must cover every platform built and match environment.yml.
import { describe, expect, it } from "vitest";
import { checkLock } from "../../src/frontend/conda";
import type { InputFile } from "../../src/frontend/inputs";
import { parseBuildOptions } from "../../src/gateway/options";
import { parseEnvironment } from "../../src/input/environment";
import { SpecError } from "../../src/input/errors";
import type { Lock, LockedPackage } from "../../src/input/lock";
import { planBuild } from "../../src/plan/plan";
import { lockContentHash } from "../../src/plan/lock-request";

const host = { OS: "linux", Architecture: "amd64" };

const envText = "name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - conda-forge::NumPy>=1.26\n";

function setup(text = envText, ...options: string[]) {
  const env: Record<string, string> = {};
  options.forEach((o, i) => (env[`BUILDKIT_FRONTEND_OPT_${i}`] = o));
  const plan = planBuild(parseEnvironment("environment.yml", text), parseBuildOptions(env, host));
  const input: InputFile = { name: "environment.yml", data: Buffer.from(text), text, conventionalLockName: "conda-lock.yml" };
  return { plan, input };
}

function pkg(platform: string, name: string): LockedPackage {
  const filename = `${name}-1.0-h0_0.conda`;
  return {
    name,
    version: "1.0",
    build: "h0_0",
    platform,
    manager: "conda",
    url: `https://conda.anaconda.org/conda-forge/${platform}/${filename}`,
    filename,
    md5: "a".repeat(32),
    dependencies: {},
    category: "main",
    optional: false,
  };
}

function lock(platforms: string[], names: string[], ours: boolean, contentHash: Record<string, string> = {}): Lock {
  return {
    version: 1,
    platforms,
    channels: ["https://conda.anaconda.org/conda-forge"],
    contentHash,
    sources: ["environment.yml"],
    packages: platforms.flatMap((p) => names.map((n) => pkg(p, n))),
    ours,
  };
}

function checkError(...args: Parameters<typeof checkLock>): SpecError {
  try {
    checkLock(...args);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error("expected a SpecError");
}

describe("checkLock", () => {
  it("refuses a lock without packages for the built platform, with the refresh command", () => {
    const { plan, input } = setup();
    const e = checkError(lock(["linux-aarch64"], ["python", "numpy"], false), "conda-lock.yml", plan, input);
    expect(e.problems).toHaveLength(1);
    const msg = e.problems[0]!.message;
    expect(msg).toContain("conda-lock.yml has no packages for linux-64 (linux/amd64)");
    expect(msg).toContain("it covers linux-aarch64");
    expect(msg).toContain("docker buildx build -f environment.yml --target lock --output type=local,dest=. --platform linux/amd64 .");
    expect(e.file.name).toBe("environment.yml");
  });

  it("checks every platform built", () => {
    const { plan, input } = setup(envText, "platform=linux/amd64,linux/arm64");
    const e = checkError(lock(["linux-64"], ["python", "numpy"], false), "locks/x.yml", plan, input);
    expect(e.problems.map((p) => p.message)).toHaveLength(1);
    expect(e.message).toContain("locks/x.yml has no packages for linux-aarch64 (linux/arm64)");
    expect(e.message).toContain("--platform linux/amd64,linux/arm64 .");
    expect(() => checkLock(lock(["linux-64", "linux-aarch64"], ["python", "numpy"], false), "locks/x.yml", plan, input)).not.toThrow();
  });

  it("accepts our own lock with the environment's content hash", () => {
    const { plan, input } = setup();
    const hash = lockContentHash(plan.conda, "linux-64");
    expect(() => checkLock(lock(["linux-64"], ["python", "numpy"], true, { "linux-64": hash }), "conda-lock.yml", plan, input)).not.toThrow();
    // Our lock is checked by hash only, not by names.
    expect(() => checkLock(lock(["linux-64"], ["zlib"], true, { "linux-64": hash }), "conda-lock.yml", plan, input)).not.toThrow();
  });

  it("calls our own lock with another content hash stale, at the dependencies", () => {
    const { plan, input } = setup();
    const e = checkError(lock(["linux-64"], ["python", "numpy"], true, { "linux-64": "0".repeat(64) }), "conda-lock.yml", plan, input);
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]!.message).toMatch(/^conda-lock\.yml is stale: it was made from a different environment\.yml \(content hash for linux-64 differs\); refresh it with: docker buildx build .*--target lock/);
    expect(e.problems[0]!.range?.start.line).toBe(5);
  });

  it("calls our own lock made from an edited environment.yml stale", () => {
    const old = setup(envText.replace("python=3.12", "python=3.11"));
    const { plan, input } = setup();
    const made = lock(["linux-64"], ["python", "numpy"], true, { "linux-64": lockContentHash(old.plan.conda, "linux-64") });
    expect(checkError(made, "conda-lock.yml", plan, input).message).toContain("is stale");
  });

  it("calls a foreign lock missing a requested package stale, at that dependency's line", () => {
    const { plan, input } = setup();
    const e = checkError(lock(["linux-64"], ["python", "openssl"], false, { "linux-64": "0".repeat(64) }), "conda-lock.yml", plan, input);
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]!.message).toMatch(/^conda-lock\.yml is stale: it has no numpy for linux-64; refresh it with/);
    expect(e.problems[0]!.range?.start.line).toBe(6);
    expect(e.message.startsWith("environment.yml:6: ")).toBe(true);
  });

  it("accepts a foreign lock that has every requested name, whatever its hash", () => {
    const { plan, input } = setup();
    expect(() => checkLock(lock(["linux-64"], ["python", "numpy", "openssl"], false, { "linux-64": "0".repeat(64) }), "conda-lock.yml", plan, input)).not.toThrow();
  });

  it("only looks at the built platform's packages in a foreign lock", () => {
    const { plan, input } = setup();
    const l = lock(["linux-64"], ["python"], false);
    l.packages.push(pkg("linux-aarch64", "numpy"));
    expect(checkError(l, "conda-lock.yml", plan, input).message).toContain("it has no numpy for linux-64");
  });
});
