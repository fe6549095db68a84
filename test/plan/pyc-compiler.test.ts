// Which build-machine python compiles a foreign platform's .pyc: found in the lock, or solved.
import { describe, expect, it } from "vitest";
import type { Lock, LockedPackage } from "../../src/input/lock";
import { channelOf, closureOf, compilerFromLock, compilerNeeds, compilerSolveRequest } from "../../src/plan/pyc-compiler";

const amd64 = { OS: "linux", Architecture: "amd64" };
const arm64 = { OS: "linux", Architecture: "arm64" };

function pkg(name: string, subdir: string, version = "1.0", build = "h0_0", deps: string[] = []): LockedPackage {
  const filename = `${name}-${version}-${build}.conda`;
  return { name, version, build, platform: subdir, manager: "conda", url: `http://127.0.0.1:8765/sub/${subdir}/${filename}`, filename, dependencies: Object.fromEntries(deps.map((d) => [d, "*"])), category: "main", optional: false };
}

function lock(packages: LockedPackage[]): Lock {
  return { version: 1, platforms: [...new Set(packages.map((p) => p.platform))], channels: [], contentHash: {}, sources: [], packages, ours: true };
}

const armPython = pkg("python", "linux-aarch64", "3.11.2", "h1_0_cpython", ["zlib", "__glibc"]);
const armEnv = [armPython, pkg("zlib", "linux-aarch64"), pkg("greet", "linux-aarch64")];

describe("compilerNeeds", () => {
  it("asks for the python version of each platform that is not the build machine's, once per version", () => {
    const needs = compilerNeeds(lock([...armEnv, pkg("python", "linux-64", "3.12.1", "h2_0_cpython")]), [amd64, arm64, { OS: "linux", Architecture: "ppc64le" }], amd64);
    expect(needs).toEqual([{ version: "3.11.2", build: "h1_0_cpython", channel: "http://127.0.0.1:8765/sub" }]);
  });

  it("asks for nothing when every platform is the build machine's, or a foreign one has no python", () => {
    expect(compilerNeeds(lock(armEnv), [amd64], amd64)).toEqual([]);
    expect(compilerNeeds(lock([pkg("zlib", "linux-aarch64")]), [arm64], amd64)).toEqual([]);
  });
});

describe("channelOf", () => {
  it("drops the subdir and file name of a package URL", () => {
    expect(channelOf("https://conda.anaconda.org/conda-forge/linux-aarch64/python-3.11.2-h_0.conda")).toBe("https://conda.anaconda.org/conda-forge");
  });
});

describe("closureOf", () => {
  it("is the package and what it depends on, transitively, skipping names the list lacks (virtual packages)", () => {
    const ps = [pkg("python", "linux-64", "3.11.2", "h_0", ["readline", "__glibc"]), pkg("readline", "linux-64", "8", "h_0", ["ncurses"]), pkg("ncurses", "linux-64"), pkg("other", "linux-64")];
    expect(closureOf(ps, "python")!.map((p) => p.name)).toEqual(["python", "readline", "ncurses"]);
    expect(closureOf(ps, "absent")).toBeUndefined();
  });
});

describe("compilerFromLock", () => {
  const need = { version: "3.11.2", build: "h1_0_cpython", channel: "http://127.0.0.1:8765/sub" };

  it("takes python of the same version and its dependencies from the build machine's subdir of the lock", () => {
    const ps = [...armEnv, pkg("python", "linux-64", "3.11.2", "h3_0_cpython", ["zlib"]), pkg("zlib", "linux-64"), pkg("greet", "linux-64")];
    const c = compilerFromLock(lock(ps), need, "linux-64")!;
    expect(c.subdir).toBe("linux-64");
    expect(c.packages.map((p) => `${p.name} ${p.platform}`).sort()).toEqual(["python linux-64", "zlib linux-64"]);
    expect(c.solve).toBeUndefined();
  });

  it("finds none when the build machine's python has another version or implementation", () => {
    expect(compilerFromLock(lock([...armEnv, pkg("python", "linux-64", "3.12.1", "h3_0_cpython")]), need, "linux-64")).toBeUndefined();
    expect(compilerFromLock(lock([...armEnv, pkg("python", "linux-64", "3.11.2", "h3_0_pypy")]), need, "linux-64")).toBeUndefined();
    expect(compilerFromLock(lock(armEnv), need, "linux-64")).toBeUndefined();
  });
});

describe("compilerSolveRequest", () => {
  it("asks for exactly the target's python version and implementation, for the build machine, on the target python's channel", () => {
    const r = compilerSolveRequest({ version: "3.11.2", build: "h1_0_cpython", channel: "http://127.0.0.1:8765/sub" }, "linux-64", []);
    expect(r.specs).toEqual(["python ==3.11.2 *_cpython"]);
    expect(r.channels).toEqual([{ name: "http://127.0.0.1:8765/sub", url: "http://127.0.0.1:8765/sub" }]);
    expect(r.platforms.map((p) => p.subdir)).toEqual(["linux-64"]);
    expect(r.platforms[0]!.virtualPackages.find((v) => v.name === "__archspec")!.build).toBe("x86_64");
    expect(r).not.toHaveProperty("privateChannels");
    expect(compilerSolveRequest({ version: "3.10", build: "h_0", channel: "c" }, "linux-64", []).specs).toEqual(["python ==3.10"]);
  });

  it("sends the conda-auth secret when the channel is private", () => {
    const r = compilerSolveRequest({ version: "3.11.2", build: "h1_0_cpython", channel: "https://private.example/org" }, "linux-64", ["https://private.example/org"]);
    expect(r.privateChannels).toEqual(["https://private.example/org"]);
  });
});
