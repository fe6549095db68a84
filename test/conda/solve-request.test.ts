// The lock's content hash: stable under reordering of unordered inputs, sensitive to the rest, and
// pinned to literal values for fixed inputs (the hash in every committed conda-lock.yml).
import { describe, expect, it } from "vitest";
import { contentHash } from "../../src/conda/solve-request";

const base = () => ({
  specs: ["python=3.12", "numpy>=1.26,<2", "conda-forge::pandas"],
  pip: ["requests==2.32.3", "rich"],
  channels: ["https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/bioconda"],
  subdir: "linux-64",
  virtualPackages: [
    { name: "__glibc", version: "2.28", build: "0" },
    { name: "__cuda", version: "12.2", build: "0" },
  ],
});

describe("contentHash", () => {
  it("is a sha256 hex digest, the same for the same inputs", () => {
    expect(contentHash(base())).toMatch(/^[0-9a-f]{64}$/);
    expect(contentHash(base())).toBe(contentHash(base()));
  });

  it("does not depend on the order of specs, pip packages or virtual packages", () => {
    const b = base();
    const reordered = { ...b, specs: [...b.specs].reverse(), pip: [...b.pip].reverse(), virtualPackages: [...b.virtualPackages].reverse() };
    expect(contentHash(reordered)).toBe(contentHash(b));
  });

  it("does not change its inputs", () => {
    const b = base();
    const copy = JSON.parse(JSON.stringify(b));
    contentHash(b);
    expect(b).toEqual(copy);
  });

  it.each([
    ["a changed spec", (b: ReturnType<typeof base>) => ({ ...b, specs: ["python=3.11", ...b.specs.slice(1)] })],
    ["an added spec", (b: ReturnType<typeof base>) => ({ ...b, specs: [...b.specs, "scipy"] })],
    ["a pip package", (b: ReturnType<typeof base>) => ({ ...b, pip: [...b.pip, "httpx"] })],
    ["the channel order", (b: ReturnType<typeof base>) => ({ ...b, channels: [...b.channels].reverse() })],
    ["the platform", (b: ReturnType<typeof base>) => ({ ...b, subdir: "linux-aarch64" })],
    ["a virtual package version", (b: ReturnType<typeof base>) => ({ ...b, virtualPackages: [{ name: "__glibc", version: "2.31", build: "0" }, b.virtualPackages[1]!] })],
    ["a virtual package build", (b: ReturnType<typeof base>) => ({ ...b, virtualPackages: [{ name: "__glibc", version: "2.28", build: "1" }, b.virtualPackages[1]!] })],
    ["a removed virtual package", (b: ReturnType<typeof base>) => ({ ...b, virtualPackages: [b.virtualPackages[0]!] })],
  ])("changes with %s", (_, change) => {
    expect(contentHash(change(base()))).not.toBe(contentHash(base()));
  });

  it("tells a spec from a pip package of the same text", () => {
    const b = base();
    expect(contentHash({ ...b, specs: ["rich"], pip: [] })).not.toBe(contentHash({ ...b, specs: [], pip: ["rich"] }));
  });
});

// Golden values. The hash is written into every conda-lock.yml the frontend makes, and a build
// refuses a lock whose hash differs from the environment's as stale: a refactor that changes
// one of these (the canonical JSON's key order or spacing, how virtual packages are spelled,
// sorting) makes every committed lock stale. Change them only on purpose, and say so.
// Computed once from our code at commit 016e5fd and, independently, with Python's hashlib:
//   sha256(json.dumps({"channels": channels, "specs": sorted(specs), "pip": sorted(pip),
//                      "platform": subdir, "virtual": sorted("name=version=build")},
//                     separators=(",", ":")))
// This is conda-frontend's own hash, not conda-lock's (conda-lock hashes its LockSpecification
// models and the virtual packages' repodata); locks made by conda-lock are checked differently
// (README: a requested package is missing).
describe("contentHash golden values (committed locks stay fresh across refactors)", () => {
  const conda = "https://conda.anaconda.org/conda-forge";
  const linux64 = [
    { name: "__archspec", version: "1", build: "x86_64" },
    { name: "__linux", version: "4.18", build: "0" },
    { name: "__unix", version: "0", build: "0" },
  ];

  it.each([
    ["one channel, two specs, linux-64", { specs: ["python=3.12", "numpy>=1.26,<2"], pip: [], channels: [conda], subdir: "linux-64", virtualPackages: linux64 }, "107cbd0081fd7a11202c4bdf2a3299da3449abe1932a3b639b24c6670708da5e"],
    [
      "the same for linux-aarch64",
      { specs: ["python=3.12", "numpy>=1.26,<2"], pip: [], channels: [conda], subdir: "linux-aarch64", virtualPackages: [{ name: "__archspec", version: "1", build: "aarch64" }, ...linux64.slice(1)] },
      "83b7d598d3d728edabef8dac242fdc04f388449c966ad3f70cf8d47499d954cf",
    ],
    ["with pip packages", { specs: ["python=3.12", "numpy>=1.26,<2"], pip: ["requests==2.32.3", "rich"], channels: [conda], subdir: "linux-64", virtualPackages: linux64 }, "802c1dafa63e98c53bcfcca5df3d29d2ea5138e52ec005ada9ed35bf3eb85ea1"],
    ["nothing at all", { specs: [], pip: [], channels: [], subdir: "linux-aarch64", virtualPackages: [] }, "23529eb8f00fbe403ea8398c3e6bedb6ee257e3c10fec3a0eff526529d9719d0"],
    [
      "set virtual packages (__cuda, __glibc), listed out of order",
      { specs: ["numpy>=1.26,<2", "python=3.12"], pip: [], channels: [conda], subdir: "linux-64", virtualPackages: [{ name: "__glibc", version: "2.35", build: "0" }, { name: "__cuda", version: "12.2", build: "0" }, ...linux64] },
      "e29078979db02f09ddab76a95e4ef406ac11629deafdd8ac467fe790d9f558b8",
    ],
  ])("%s", (_, inputs, expected) => {
    expect(contentHash(inputs)).toBe(expected);
  });
});
