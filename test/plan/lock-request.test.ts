// The solve request built from the plan (per platform, with its virtual packages) and the lock's
// content hash.
import { describe, expect, it } from "vitest";
import { host, plan } from "./helpers";
import { contentHash } from "../../src/conda/solve-request";
import { lockContentHash, platformVirtualPackages, solveRequest } from "../../src/plan/lock-request";

const arm64 = { OS: "linux", Architecture: "arm64" };

const conda = (text: string, ...options: string[]) => plan(text, ...options).conda;

const envText = "name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - bioconda::samtools >=1.19\n";

describe("solveRequest", () => {
  it("passes the specs (keeping channel prefixes), the channels and one entry per platform", () => {
    const c = conda(envText);
    const req = solveRequest(c, [{ platform: host, baseGlibc: "2.36" }, { platform: arm64 }], "environment.yml");
    expect(req.specs).toEqual(["python=3.12", "bioconda::samtools >=1.19"]);
    expect(req.channels).toEqual([{ name: "conda-forge", url: "https://conda.anaconda.org/conda-forge" }]);
    expect(req.sources).toEqual(["environment.yml"]);
    expect(req.platforms.map((p) => p.subdir)).toEqual(["linux-64", "linux-aarch64"]);
  });

  it("gives each platform its virtual packages, with the base's glibc", () => {
    const c = conda(envText);
    const req = solveRequest(c, [{ platform: host, baseGlibc: "2.36" }, { platform: arm64 }], "environment.yml");
    expect(req.platforms[0]!.virtualPackages).toEqual([
      { name: "__archspec", version: "1", build: "x86_64" },
      { name: "__glibc", version: "2.36", build: "0" },
      { name: "__linux", version: "4.18", build: "0" },
      { name: "__unix", version: "0", build: "0" },
    ]);
    expect(req.platforms[1]!.virtualPackages).toContainEqual({ name: "__glibc", version: "2.28", build: "0" });
    expect(req.platforms[1]!.virtualPackages).toContainEqual({ name: "__archspec", version: "1", build: "aarch64" });
  });

  it("includes image.virtual-packages and CONDA_OVERRIDE_* in the virtual packages", () => {
    const c = conda(envText + "image:\n  virtual-packages:\n    __cuda: \"12.2\"\n", "build-arg:CONDA_OVERRIDE_GLIBC=2.35");
    const vps = solveRequest(c, [{ platform: host, baseGlibc: "2.36" }], "environment.yml").platforms[0]!.virtualPackages;
    expect(vps).toContainEqual({ name: "__cuda", version: "12.2", build: "0" });
    expect(vps).toContainEqual({ name: "__glibc", version: "2.35", build: "0" });
  });

  it("sets each platform's content hash to lockContentHash", () => {
    const c = conda(envText);
    const req = solveRequest(c, [{ platform: host, baseGlibc: "2.36" }, { platform: arm64 }], "environment.yml");
    expect(req.platforms[0]!.contentHash).toBe(lockContentHash(c, "linux-64"));
    expect(req.platforms[1]!.contentHash).toBe(lockContentHash(c, "linux-aarch64"));
    expect(req.platforms[0]!.contentHash).not.toBe(req.platforms[1]!.contentHash);
  });
});

describe("lockContentHash", () => {
  it("is the content hash of the specs, pip, channel URLs, subdir and the virtual packages without the base glibc", () => {
    const c = conda(envText + "  - pip:\n      - rich\n");
    expect(lockContentHash(c, "linux-64")).toBe(
      contentHash({
        specs: ["python=3.12", "bioconda::samtools >=1.19"],
        pip: ["rich"],
        channels: ["https://conda.anaconda.org/conda-forge"],
        subdir: "linux-64",
        virtualPackages: platformVirtualPackages(c, "linux-64").filter((v) => v.name !== "__glibc"),
      }),
    );
  });

  it("does not change when only the base image's glibc differs", () => {
    const c = conda(envText);
    const a = solveRequest(c, [{ platform: host, baseGlibc: "2.31" }], "environment.yml").platforms[0]!;
    const b = solveRequest(c, [{ platform: host, baseGlibc: "2.36" }], "environment.yml").platforms[0]!;
    const none = solveRequest(c, [{ platform: host }], "environment.yml").platforms[0]!;
    expect(a.virtualPackages).not.toEqual(b.virtualPackages);
    expect(a.contentHash).toBe(b.contentHash);
    expect(none.contentHash).toBe(a.contentHash);
  });

  it("changes with CONDA_OVERRIDE_GLIBC, image.virtual-packages, specs and channels", () => {
    const plain = lockContentHash(conda(envText), "linux-64");
    expect(lockContentHash(conda(envText, "build-arg:CONDA_OVERRIDE_GLIBC=2.35"), "linux-64")).not.toBe(plain);
    expect(lockContentHash(conda(envText, "build-arg:CONDA_OVERRIDE_GLIBC=2.35"), "linux-64")).not.toBe(lockContentHash(conda(envText, "build-arg:CONDA_OVERRIDE_GLIBC=2.31"), "linux-64"));
    expect(lockContentHash(conda(envText + "image:\n  virtual-packages:\n    __glibc: \"2.31\"\n"), "linux-64")).not.toBe(plain);
    expect(lockContentHash(conda(envText.replace("python=3.12", "python=3.11")), "linux-64")).not.toBe(plain);
    expect(lockContentHash(conda(envText.replace("conda-forge\n", "conda-forge\n  - bioconda\n")), "linux-64")).not.toBe(plain);
  });

  it("does not depend on the order of the dependencies", () => {
    const swapped = "name: app\nchannels:\n  - conda-forge\ndependencies:\n  - bioconda::samtools >=1.19\n  - python=3.12\n";
    expect(lockContentHash(conda(swapped), "linux-64")).toBe(lockContentHash(conda(envText), "linux-64"));
  });
});
