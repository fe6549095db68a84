// The `sbom` build step on real folders: reports as symlinks (their target is the report) and as
// files, as install and pip steps leave them; the file it writes is the document of those inputs.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readReportFolder, runSbom } from "../../src/build-step/sbom";
import type { SbomRequest } from "../../src/conda/sbom";

const request: SbomRequest = {
  name: "env",
  platform: "linux/amd64",
  prefix: "/opt/conda",
  base: { ref: "localhost:5000/base:1" },
  sourceDateEpoch: 0,
  tool: "tool",
  packages: [{ name: "libgreet", version: "1.0", build: "0", url: "http://127.0.0.1:8765/linux-64/libgreet-1.0-0.conda", filename: "libgreet-1.0-0.conda", sha256: "a".repeat(64), depends: [] }],
};

function folders(): { dir: string; install: string; pip: string } {
  const dir = mkdtempSync(join(tmpdir(), "sbom-step-"));
  const install = join(dir, "install");
  const pip = join(dir, "pip");
  mkdirSync(install);
  mkdirSync(pip);
  symlinkSync(JSON.stringify({ kind: "package", name: "libgreet", written: { files: 1, bytes: 2 }, pruned: {}, license: "MIT" }), join(install, "libgreet"));
  writeFileSync(join(install, "not-a-report"), "{}");
  writeFileSync(join(pip, ".pip.json"), JSON.stringify({ kind: "pip", name: "pip", written: { files: 0, bytes: 0 }, pruned: {}, distributions: [{ name: "six", version: "1.16.0" }] }) + "\n");
  writeFileSync(join(dir, "request.json"), JSON.stringify(request));
  return { dir, install, pip };
}

describe("the sbom step", () => {
  it("reads reports from symlinks and files (hidden ones too) and skips what is not a report", () => {
    const { install, pip } = folders();
    expect(readReportFolder(install).map((r) => [r.name, r.license])).toEqual([["libgreet", "MIT"]]);
    expect(readReportFolder(pip)[0]!.distributions).toEqual([{ name: "six", version: "1.16.0" }]);
  });

  it("writes the document of the request and both report folders, the same bytes on every run", () => {
    const { dir, install, pip } = folders();
    const out = join(dir, "sbom.spdx.json");
    expect(runSbom(join(dir, "request.json"), out, [install, pip])).toBe(0);
    const text = readFileSync(out, "utf8");
    const doc = JSON.parse(text) as { packages: { name: string; licenseDeclared: string; externalRefs?: { referenceLocator: string }[] }[] };
    expect(doc.packages.map((p) => [p.name, p.licenseDeclared, p.externalRefs?.[0]?.referenceLocator])).toEqual([
      ["env", "NOASSERTION", undefined],
      ["localhost:5000/base:1", "NOASSERTION", "pkg:oci/base?repository_url=localhost:5000/base&tag=1"],
      ["libgreet", "MIT", "pkg:conda/libgreet@1.0?build=0&channel=http://127.0.0.1:8765&subdir=linux-64&type=conda"],
      ["six", "NOASSERTION", "pkg:pypi/six@1.16.0"],
    ]);
    runSbom(join(dir, "request.json"), out, [install, pip]);
    expect(readFileSync(out, "utf8")).toBe(text);
  });
});
