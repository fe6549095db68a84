// The SPDX document (src/conda/sbom.ts) for a fixed lock and reports: purls exactly as purl-spec's
// conda and pypi types write them, checksums, licenses, relationships, and the same bytes twice.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { StepReport } from "../../src/conda/prune/report";
import { condaPurl, imagePurl, pypiPurl, type SbomRequest, spdxDocument, spdxText, withoutCredentials } from "../../src/conda/sbom";

const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");
const forge = "https://conda.anaconda.org/conda-forge";

const request: SbomRequest = {
  name: "web",
  platform: "linux/amd64",
  prefix: "/opt/conda",
  base: { ref: "localhost:5000/distroless/base-debian12:nonroot", digest: "sha256:" + "b".repeat(64) },
  sourceDateEpoch: 1700000000,
  tool: "localhost:5000/conda-frontend:sbom@sha256:" + "c".repeat(64),
  packages: [
    // Out of name order on purpose: the document sorts.
    { name: "python", version: "3.12.1", build: "h0_0_cpython", url: `${forge}/linux-64/python-3.12.1-h0_0_cpython.conda`, filename: "python-3.12.1-h0_0_cpython.conda", sha256: "1".repeat(64), md5: "2".repeat(32), depends: ["libzlib", "__glibc", "libzlib"] },
    { name: "libzlib", version: "1.3.1", build: "hb9d3cd8_2", url: "http://127.0.0.1:8765/linux-64/libzlib-1.3.1-hb9d3cd8_2.tar.bz2", filename: "libzlib-1.3.1-hb9d3cd8_2.tar.bz2", sha256: "3".repeat(64), depends: [] },
    { name: "tzdata", version: "2024a", build: "h0c530f3_0", url: `${forge}/noarch/tzdata-2024a-h0c530f3_0.conda`, filename: "tzdata-2024a-h0c530f3_0.conda", md5: "4".repeat(32), depends: [] },
  ],
};

const report = (r: Partial<StepReport> & Pick<StepReport, "kind" | "name">): StepReport => ({ written: { files: 1, bytes: 1 }, pruned: {}, ...r });
const reports: StepReport[] = [
  report({ kind: "package", name: "python", license: "Python-2.0" }),
  report({ kind: "package", name: "libzlib", license: "Zlib" }),
  report({ kind: "package", name: "tzdata" }),
  report({ kind: "pip", name: "pip", distributions: [{ name: "Flask_Cors", version: "4.0.0" }, { name: "blinker", version: "1.7.0" }] }),
];

interface Doc {
  spdxVersion: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: { SPDXID: string; name: string; versionInfo?: string; downloadLocation: string; licenseDeclared: string; checksums?: { algorithm: string; checksumValue: string }[]; externalRefs?: { referenceType: string; referenceLocator: string }[] }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}
const doc = (req = request, rs = reports, now = 1) => spdxDocument(req, rs, now, sha256) as Doc;
const purls = (d: Doc) => d.packages.map((p) => p.externalRefs?.find((r) => r.referenceType === "purl")?.referenceLocator);
const byName = (d: Doc, name: string) => d.packages.find((p) => p.name === name)!;

describe("conda purls (purl-spec's conda type)", () => {
  it("names build, channel, subdir and type, in that (sorted) order; the channel by conda's canonical name", () => {
    expect(condaPurl(request.packages[0]!)).toBe("pkg:conda/python@3.12.1?build=h0_0_cpython&channel=conda-forge&subdir=linux-64&type=conda");
    expect(condaPurl(request.packages[2]!)).toBe("pkg:conda/tzdata@2024a?build=h0c530f3_0&channel=conda-forge&subdir=noarch&type=conda");
  });

  it("keeps a channel that is not conda.anaconda.org's as its URL, with : and / unencoded, and type tar.bz2 for a .tar.bz2", () => {
    expect(condaPurl(request.packages[1]!)).toBe("pkg:conda/libzlib@1.3.1?build=hb9d3cd8_2&channel=http://127.0.0.1:8765&subdir=linux-64&type=tar.bz2");
  });

  it("percent-encodes what purl-spec does not allow as is (a + in a version)", () => {
    expect(condaPurl({ name: "x", version: "1.0+local", build: "0", url: `${forge}/linux-64/x-1.0+local-0.conda`, filename: "x-1.0+local-0.conda" })).toBe("pkg:conda/x@1.0%2Blocal?build=0&channel=conda-forge&subdir=linux-64&type=conda");
  });
});

describe("other purls", () => {
  it("writes pypi names lower case with - for _ (purl-spec's pypi type)", () => {
    expect(pypiPurl({ name: "Flask_Cors", version: "4.0.0" })).toBe("pkg:pypi/flask-cors@4.0.0");
  });

  it("writes the base image as pkg:oci with its digest, repository and tag", () => {
    expect(imagePurl("localhost:5000/distroless/base-debian12:nonroot", "sha256:abc")).toBe("pkg:oci/base-debian12@sha256:abc?repository_url=localhost:5000/distroless/base-debian12&tag=nonroot");
    expect(imagePurl("debian", undefined)).toBe("pkg:oci/debian?repository_url=debian");
  });
});

describe("spdxDocument", () => {
  it("is an SPDX 2.3 document dated by SOURCE_DATE_EPOCH, listing the image, the base, every conda package (sorted) and pip's distributions", () => {
    const d = doc();
    expect(d.spdxVersion).toBe("SPDX-2.3");
    expect(d.creationInfo.created).toBe("2023-11-14T22:13:20Z");
    expect(d.creationInfo.creators).toEqual([`Tool: conda-frontend (${request.tool})`]);
    expect(d.packages.map((p) => p.SPDXID)).toEqual([
      "SPDXRef-image", "SPDXRef-base-image",
      "SPDXRef-conda-libzlib-1.3.1-hb9d3cd8-2", "SPDXRef-conda-python-3.12.1-h0-0-cpython", "SPDXRef-conda-tzdata-2024a-h0c530f3-0",
      "SPDXRef-pypi-blinker-1.7.0", "SPDXRef-pypi-Flask-Cors-4.0.0",
    ]);
    expect(purls(d)).toEqual([
      undefined,
      `pkg:oci/base-debian12@sha256:${"b".repeat(64)}?repository_url=localhost:5000/distroless/base-debian12&tag=nonroot`,
      "pkg:conda/libzlib@1.3.1?build=hb9d3cd8_2&channel=http://127.0.0.1:8765&subdir=linux-64&type=tar.bz2",
      "pkg:conda/python@3.12.1?build=h0_0_cpython&channel=conda-forge&subdir=linux-64&type=conda",
      "pkg:conda/tzdata@2024a?build=h0c530f3_0&channel=conda-forge&subdir=noarch&type=conda",
      "pkg:pypi/blinker@1.7.0",
      "pkg:pypi/flask-cors@4.0.0",
    ]);
  });

  it("gives each conda package its URL, its checksums and the license its index.json states, else NOASSERTION", () => {
    const d = doc();
    expect(byName(d, "python")).toMatchObject({
      versionInfo: "3.12.1",
      downloadLocation: `${forge}/linux-64/python-3.12.1-h0_0_cpython.conda`,
      licenseDeclared: "Python-2.0",
      checksums: [{ algorithm: "MD5", checksumValue: "2".repeat(32) }, { algorithm: "SHA256", checksumValue: "1".repeat(64) }],
    });
    expect(byName(d, "libzlib").checksums).toEqual([{ algorithm: "SHA256", checksumValue: "3".repeat(64) }]);
    expect(byName(d, "tzdata").licenseDeclared).toBe("NOASSERTION");
    expect(byName(d, "blinker").licenseDeclared).toBe("NOASSERTION");
  });

  it("relates them: the document DESCRIBES the image, which descends from the base and CONTAINS every package; DEPENDS_ON from the lock, virtual packages and repeats left out", () => {
    const rels = doc().relationships.map((r) => `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`);
    expect(rels).toEqual([
      "SPDXRef-DOCUMENT DESCRIBES SPDXRef-image",
      "SPDXRef-image DESCENDANT_OF SPDXRef-base-image",
      "SPDXRef-image CONTAINS SPDXRef-conda-libzlib-1.3.1-hb9d3cd8-2",
      "SPDXRef-image CONTAINS SPDXRef-conda-python-3.12.1-h0-0-cpython",
      "SPDXRef-image CONTAINS SPDXRef-conda-tzdata-2024a-h0c530f3-0",
      "SPDXRef-image CONTAINS SPDXRef-pypi-blinker-1.7.0",
      "SPDXRef-image CONTAINS SPDXRef-pypi-Flask-Cors-4.0.0",
      "SPDXRef-conda-python-3.12.1-h0-0-cpython DEPENDS_ON SPDXRef-conda-libzlib-1.3.1-hb9d3cd8-2",
    ]);
  });

  it("gives the same bytes for the same inputs, whatever the order of the lock and the reports, and the time only matters without SOURCE_DATE_EPOCH", () => {
    const a = spdxText(doc());
    const shuffled = { ...request, packages: [...request.packages].reverse() };
    expect(spdxText(doc(shuffled, [...reports].reverse(), 999))).toBe(a);
    const undated = { ...request, sourceDateEpoch: undefined };
    expect(doc(undated, reports, 86400).creationInfo.created).toBe("1970-01-02T00:00:00Z");
    expect(doc(undated, reports, 86400).documentNamespace).not.toBe(doc().documentNamespace);
    expect(doc().documentNamespace).toMatch(/^https:\/\/conda-frontend\.invalid\/spdx\/web-[0-9a-f]{64}$/);
  });

  it("never writes a channel's credentials into a download location", () => {
    expect(withoutCredentials("https://user:pw@repo.example/t/tk-123/private/linux-64/x-1-0.conda")).toBe("https://repo.example/private/linux-64/x-1-0.conda");
    const req = { ...request, packages: [{ ...request.packages[1]!, url: "https://u:p@repo.example/t/secret/ch/linux-64/libzlib-1.3.1-hb9d3cd8_2.tar.bz2" }] };
    expect(spdxText(doc(req))).not.toMatch(/secret|u:p@/);
  });
});
