// --sbom and --provenance through a real BuildKit, read back from an OCI export: the SPDX
// attestation is ours (BuildKit pulled no scanner image, which this machine cannot reach), it
// lists every conda package installed and pip's distribution with their purls, the image
// carries the same document at <prefix>/conda-meta/sbom.spdx.json, and provenance mode=max
// lists every package download and our frontend image. Containerd-store engines only: the
// classic store's docker driver exports no attestations.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { baseImage, build, cacheEngines, channelUrl, frontendImage, header, project } from "./harness";

const webapp = join(__dirname, "../../examples/webapp");
const epoch = 1700000000;

const envYml = `${header()}name: sbom-e2e
channels:
  - ${channelUrl}
dependencies:
  - python=3.12
  - greet
  - pip
  - pip:
      - --no-index
      - --find-links ${channelUrl}/wheels/index.html
      - greetwheel==1.0
image:
  base: ${baseImage}
  app:
    copy: [server.py]
`;

interface Descriptor {
  digest: string;
  mediaType: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}
interface SpdxPackage {
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceType: string; referenceLocator: string }[];
}
interface Spdx {
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}
interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: unknown;
}
interface Material {
  uri: string;
  digest: Record<string, string>;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** An OCI layout unpacked from the exporter's tarball: blobs by digest. */
class OciLayout {
  constructor(readonly dir: string) {}
  blobPath = (digest: string) => join(this.dir, "blobs", ...digest.split(":"));
  json = <T>(digest: string) => JSON.parse(readFileSync(this.blobPath(digest), "utf8")) as T;

  /** The image manifest and its attestation manifest (the one naming it). */
  manifests(): { image: { layers: Descriptor[] }; imageDigest: string; attestations: { layers: Descriptor[] } } {
    const top = JSON.parse(readFileSync(join(this.dir, "index.json"), "utf8")) as { manifests: Descriptor[] };
    const list = this.json<{ manifests: Descriptor[] }>(top.manifests[0]!.digest);
    const image = list.manifests.find((m) => m.platform?.architecture === "amd64")!;
    const att = list.manifests.find((m) => m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" && m.annotations["vnd.docker.reference.digest"] === image.digest)!;
    return { image: this.json(image.digest), imageDigest: image.digest, attestations: this.json(att.digest) };
  }

  /** A file from the image's layers (the topmost layer holding it). */
  fileInLayers(layers: Descriptor[], path: string): string | undefined {
    for (const l of [...layers].reverse()) {
      const names = run("tar", ["-tf", this.blobPath(l.digest)]).split("\n");
      if (names.includes(path)) return run("tar", ["-xOf", this.blobPath(l.digest), path]);
    }
    return undefined;
  }

  /** Every conda-meta/<name>-<version>-<build>.json record in the image: what was installed. */
  condaRecords(layers: Descriptor[], prefix: string): string[] {
    const dir = `${prefix.slice(1)}/conda-meta/`;
    return layers
      .flatMap((l) => run("tar", ["-tf", this.blobPath(l.digest)]).split("\n"))
      .filter((n) => n.startsWith(dir) && n.endsWith(".json") && !n.endsWith("sbom.spdx.json"))
      .map((n) => n.slice(dir.length, -".json".length))
      .sort();
  }
}

const purlOf = (p: SpdxPackage) => p.externalRefs?.find((r) => r.referenceType === "purl")?.referenceLocator;
const condaPackages = (d: Spdx) => d.packages.filter((p) => purlOf(p)?.startsWith("pkg:conda/"));

/** Provenance's materials, from SLSA v0.2's `materials` or v1's `resolvedDependencies`. */
function materials(predicate: unknown): Material[] {
  const p = predicate as { materials?: Material[]; buildDefinition?: { resolvedDependencies?: Material[] } };
  return p.materials ?? p.buildDefinition?.resolvedDependencies ?? [];
}

describe.each(cacheEngines)("--sbom and --provenance on $label", (on) => {
  it("returns our SPDX attestation (no scanner pulled) listing every installed package with its purl, the same document in the image, and provenance listing every download and the frontend", () => {
    const dir = project({ "environment.yml": envYml, "server.py": readFileSync(join(webapp, "server.py"), "utf8") });
    const name = `localhost:5000/cf-e2e-sbom:${on.name}`;
    const res = build(on, dir, [
      "--network=host", "-f", "environment.yml", "--sbom=true", "--provenance=mode=max", "--build-arg", `SOURCE_DATE_EPOCH=${epoch}`,
      "--output", `type=oci,dest=${join(dir, "image.tar")},name=${name}`, ".",
    ]);
    expect(res.code, res.output).toBe(0);
    // BuildKit's scanner would be a step resolving and running docker/buildkit-syft-scanner.
    expect(res.output).not.toMatch(/syft|scanner/i);
    expect(res.output).toMatch(/\[sbom linux\/amd64\] SPDX document of \d+ conda packages and pip's/);

    const oci = new OciLayout(join(dir, "oci"));
    mkdirSync(oci.dir);
    run("tar", ["-xf", join(dir, "image.tar"), "-C", oci.dir]);
    const { image, imageDigest, attestations } = oci.manifests();
    const statements = attestations.layers.map((l) => oci.json<Statement>(l.digest));
    const sbomStatements = statements.filter((s) => s.predicateType === "https://spdx.dev/Document");
    expect(sbomStatements).toHaveLength(1);
    const sbom = sbomStatements[0]!;
    // The subject BuildKit filled in for the Self subject: the image by name and manifest digest.
    expect(sbom.subject).toEqual([{ name: expect.stringContaining("cf-e2e-sbom"), digest: { sha256: imageDigest.slice("sha256:".length) } }]);
    const doc = sbom.predicate as Spdx;
    expect(doc.creationInfo.creators.some((c) => c.startsWith("Tool: conda-frontend"))).toBe(true);
    expect(doc.creationInfo.created).toBe("2023-11-14T22:13:20Z");

    // Every conda package the image holds (its conda-meta records) is in the SBOM with its purl.
    const installed = oci.condaRecords(image.layers, "/opt/conda");
    expect(installed.length).toBeGreaterThan(10);
    const listed = condaPackages(doc).map((p) => {
      const m = /^pkg:conda\/([^@]+)@([^?]+)\?build=([^&]+)&channel=([^&]+)&subdir=([^&]+)&type=(conda|tar\.bz2)$/.exec(purlOf(p)!);
      expect(m, purlOf(p)).not.toBeNull();
      expect(m![4]).toBe(channelUrl);
      expect(p.downloadLocation).toBe(`${channelUrl}/${m![5]}/${p.name}-${p.versionInfo}-${m![3]}.${m![6]}`);
      expect(p.checksums?.map((c) => c.algorithm)).toContain("SHA256");
      return `${m![1]}-${m![2]}-${m![3]}`;
    });
    expect(listed.sort()).toEqual(installed);
    expect(doc.packages.map(purlOf)).toContain("pkg:pypi/greetwheel@1.0");
    expect(doc.packages.find((p) => p.name === "greet")).toMatchObject({ licenseDeclared: "MIT" });
    expect(doc.relationships).toContainEqual({ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: "SPDXRef-image" });
    expect(doc.relationships.some((r) => r.relationshipType === "DEPENDS_ON")).toBe(true);

    // The image carries the same document (BuildKit may add itself as a creator to the attestation).
    const embedded = JSON.parse(oci.fileInLayers(image.layers, "opt/conda/conda-meta/sbom.spdx.json") ?? "null") as Spdx | null;
    expect(embedded).not.toBeNull();
    expect(embedded!.packages).toEqual(doc.packages);
    expect(embedded!.relationships).toEqual(doc.relationships);

    // Provenance (mode=max, made by BuildKit): every package download with its sha256, and our frontend image.
    const provenance = statements.find((s) => s.predicateType.startsWith("https://slsa.dev/provenance/"));
    expect(provenance).toBeDefined();
    const mats = materials(provenance!.predicate);
    for (const p of condaPackages(doc)) {
      const sha256 = p.checksums!.find((c) => c.algorithm === "SHA256")!.checksumValue;
      expect(mats, p.downloadLocation).toContainEqual({ uri: p.downloadLocation, digest: { sha256 } });
    }
    // Our image by the digest the SBOM names as its creator (BuildKit v0.13 writes the purl's
    // colon as %3A, later versions as is).
    const toolDigest = /@sha256:([0-9a-f]{64})\)$/.exec(doc.creationInfo.creators[0]!)?.[1];
    const frontendRepo = frontendImage.slice(0, frontendImage.lastIndexOf(":"));
    expect(mats.filter((m) => decodeURIComponent(m.uri).startsWith(`pkg:docker/${frontendRepo}@`)).map((m) => m.digest.sha256)).toContain(toolDigest);
  });

  it("returns an SPDX attestation for an image without conda packages too (image and base), so no scanner runs", () => {
    const dir = project({ "environment.yml": `${header()}name: sbom-app-only\nimage:\n  base: ${baseImage}\n  app:\n    copy: [server.py]\n`, "server.py": "print('hi')\n" });
    const res = build(on, dir, ["-f", "environment.yml", "--sbom=true", "--output", `type=oci,dest=${join(dir, "image.tar")}`, "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).not.toMatch(/syft|scanner/i);
    const oci = new OciLayout(join(dir, "oci"));
    mkdirSync(oci.dir);
    run("tar", ["-xf", join(dir, "image.tar"), "-C", oci.dir]);
    const { image, attestations } = oci.manifests();
    const doc = attestations.layers.map((l) => oci.json<Statement>(l.digest)).find((s) => s.predicateType === "https://spdx.dev/Document")!.predicate as Spdx;
    expect(doc.packages.map((p) => p.name)).toEqual(["sbom-app-only", baseImage]);
    expect((JSON.parse(oci.fileInLayers(image.layers, "opt/conda/conda-meta/sbom.spdx.json")!) as Spdx).packages).toEqual(doc.packages);
  });

  it("returns one document per platform of a multi-platform build, each listing that platform's packages", () => {
    const yml = `${header()}name: sbom-mp\nchannels:\n  - ${channelUrl}\ndependencies:\n  - libgreet=2.0\n  - greet\nimage:\n  base: ${baseImage}\n  virtual-packages:\n    __glibc: "2.36"\n`;
    const dir = project({ "environment.yml": yml });
    const res = build(on, dir, ["--network=host", "-f", "environment.yml", "--sbom=true", "--platform", "linux/amd64,linux/arm64", "--output", `type=oci,dest=${join(dir, "image.tar")},name=localhost:5000/cf-e2e-sbom-mp:1`, "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).not.toMatch(/syft|scanner/i);
    const oci = new OciLayout(join(dir, "oci"));
    mkdirSync(oci.dir);
    run("tar", ["-xf", join(dir, "image.tar"), "-C", oci.dir]);
    const top = oci.json<{ manifests: Descriptor[] }>((JSON.parse(readFileSync(join(oci.dir, "index.json"), "utf8")) as { manifests: Descriptor[] }).manifests[0]!.digest);
    const archOf = new Map(top.manifests.map((m) => [m.digest, m.platform?.architecture]));
    const subdirs = top.manifests
      .filter((m) => m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest")
      .map((m) => {
        const doc = oci.json<{ layers: Descriptor[] }>(m.digest).layers.map((l) => oci.json<Statement>(l.digest)).find((s) => s.predicateType === "https://spdx.dev/Document")!.predicate as Spdx;
        const subdir = [...new Set(condaPackages(doc).map((p) => /&subdir=([^&]+)/.exec(purlOf(p)!)![1]))];
        return `${archOf.get(m.annotations!["vnd.docker.reference.digest"]!)} ${subdir.join(",")} ${condaPackages(doc).length}`;
      })
      .sort();
    expect(subdirs).toEqual(["amd64 linux-64 2", "arm64 linux-aarch64 2"]);
  });
});
