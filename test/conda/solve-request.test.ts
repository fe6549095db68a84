// The lock's content hash: stable under reordering of unordered inputs, sensitive to the rest.
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
