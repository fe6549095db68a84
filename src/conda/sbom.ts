// The image's SBOM: an SPDX 2.3 JSON document made from the lock (what was installed, where it came
// from, its checksums and dependencies) and the install steps' reports (each package's license
// from its index.json; the distributions pip installed). Pure: the same request and reports give
// the same bytes. Shared by the `sbom` build step, which writes the file the image carries and the
// attestation points at, and the tests. The request is what the frontend knows at graph time.
import { compareStrings } from "../compare";
import { canonicalChannel, channelAndSubdir } from "./package-url";
import type { Distribution, StepReport } from "./prune/report";
import { utcIso } from "../utc-time";

/** One conda package of the lock, as the SBOM step needs it. */
export interface SbomPackage {
  name: string;
  version: string;
  build: string;
  url: string;
  /** The archive's file name (its extension is the purl's `type`). */
  filename: string;
  sha256?: string;
  md5?: string;
  /** Names of the packages it depends on (the lock's dependencies). */
  depends: string[];
}

/** What the frontend writes into the SBOM step's input: everything but the reports. */
export interface SbomRequest {
  /** The document's name: the environment's name, or the input file's. */
  name: string;
  /** The image's platform, e.g. linux/amd64. */
  platform: string;
  prefix: string;
  base: { ref: string; digest?: string };
  /** SOURCE_DATE_EPOCH; without it the document is dated when the step runs. */
  sourceDateEpoch?: number;
  packages: SbomPackage[];
  /** The frontend image that made it (a creator of the document). */
  tool: string;
}

export const spdxPredicateType = "https://spdx.dev/Document";
/** Where the file is in the image, under the prefix, and in the step's output. */
export const sbomFileName = "sbom.spdx.json";

/**
 * purl-spec's percent-encoding of a component: everything but unreserved characters is encoded,
 * except `:` (never encoded) and, in qualifier values, `/` (purl-spec's own examples keep it).
 */
function purlEncode(s: string, keepSlash = false): string {
  let e = encodeURIComponent(s).replace(/%3A/gi, ":");
  if (keepSlash) e = e.replace(/%2F/gi, "/");
  return e;
}

/** A purl's qualifiers, in purl-spec's canonical form: keys sorted, empty values left out. */
function qualifiers(q: Record<string, string | undefined>): string {
  const parts = Object.entries(q)
    .filter((e): e is [string, string] => !!e[1])
    .sort((a, b) => compareStrings(a[0], b[0]))
    .map(([k, v]) => `${k}=${purlEncode(v, true)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** The archive's kind as purl-spec's conda `type` names it: conda or tar.bz2. */
export function condaArchiveType(filename: string): string | undefined {
  if (filename.endsWith(".conda")) return "conda";
  if (filename.endsWith(".tar.bz2")) return "tar.bz2";
  return undefined;
}

/** pkg:conda/name@version?build=...&channel=...&subdir=...&type=... (purl-spec's conda type). */
export function condaPurl(p: Pick<SbomPackage, "name" | "version" | "build" | "url" | "filename">): string {
  const { subdir } = channelAndSubdir(p.url);
  // The channel as conda names it: conda-forge for conda.anaconda.org's, else its URL.
  const q = qualifiers({ build: p.build, channel: canonicalChannel(p.url), subdir, type: condaArchiveType(p.filename) });
  return `pkg:conda/${purlEncode(p.name)}@${purlEncode(p.version)}${q}`;
}

/** pkg:pypi/name@version, the name as purl-spec's pypi type wants it: lower case, `_` as `-`. */
export function pypiPurl(d: Distribution): string {
  return `pkg:pypi/${purlEncode(d.name.toLowerCase().replace(/_/g, "-"))}@${purlEncode(d.version)}`;
}

/** pkg:oci/name@digest?repository_url=... for an image reference (the base). */
export function imagePurl(ref: string, digest: string | undefined): string {
  const withoutDigest = ref.split("@")[0]!;
  // A tag follows the last colon after the last slash (a registry's port comes before a slash).
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  const repository = colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest;
  const tag = colon >= 0 ? withoutDigest.slice(colon + 1) : undefined;
  const name = repository.slice(repository.lastIndexOf("/") + 1);
  const version = digest ? `@${purlEncode(digest)}` : "";
  return `pkg:oci/${purlEncode(name)}${version}${qualifiers({ repository_url: repository, tag })}`;
}

/** A URL without credentials (user:password@, conda's /t/<token>/): never written into an SBOM. */
export function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  u.pathname = u.pathname.replace(/^\/t\/[^/]+\//, "/");
  return u.toString();
}

/** SPDX ids allow letters, digits, `.` and `-` only. */
const spdxId = (kind: string, name: string) => `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]/g, "-")}`;

const noAssertion = "NOASSERTION";

/** SPDX's date form: seconds, no fraction. */
const spdxDate = utcIso;

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  supplier?: string;
  primaryPackagePurpose?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  comment?: string;
}

function purlRef(purl: string) {
  return [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: purl }];
}

/**
 * A conda package. Its license is index.json's text, which conda-forge writes as an SPDX
 * expression; as licenseDeclared (what the package says), never as licenseConcluded (nobody here
 * concluded anything).
 */
function condaPackage(p: SbomPackage, license: string | undefined): SpdxPackage {
  const checksums = [
    ...(p.md5 ? [{ algorithm: "MD5", checksumValue: p.md5 }] : []),
    ...(p.sha256 ? [{ algorithm: "SHA256", checksumValue: p.sha256 }] : []),
  ];
  const { subdir } = channelAndSubdir(p.url);
  return {
    SPDXID: spdxId("conda", `${p.name}-${p.version}-${p.build}`),
    name: p.name,
    versionInfo: p.version,
    downloadLocation: withoutCredentials(p.url),
    filesAnalyzed: false,
    licenseConcluded: noAssertion,
    licenseDeclared: license?.trim() || noAssertion,
    copyrightText: noAssertion,
    ...(checksums.length ? { checksums } : {}),
    externalRefs: purlRef(condaPurl(p)),
    comment: `conda package ${p.filename} (build ${p.build}, subdir ${subdir}) from ${channelAndSubdir(p.url).channel}`,
  };
}

function pypiPackage(d: Distribution): SpdxPackage {
  return {
    SPDXID: spdxId("pypi", `${d.name}-${d.version}`),
    name: d.name,
    versionInfo: d.version,
    downloadLocation: noAssertion,
    filesAnalyzed: false,
    licenseConcluded: noAssertion,
    licenseDeclared: noAssertion,
    copyrightText: noAssertion,
    externalRefs: purlRef(pypiPurl(d)),
    comment: "installed by pip (environment.yml's pip: list)",
  };
}

/** What SPDX asks of a container package that we cannot say (no download location, license or copyright of our own). */
const containerFields = {
  downloadLocation: noAssertion,
  filesAnalyzed: false,
  licenseConcluded: noAssertion,
  licenseDeclared: noAssertion,
  copyrightText: noAssertion,
  primaryPackagePurpose: "CONTAINER",
} as const;

function basePackage(base: SbomRequest["base"]): SpdxPackage {
  return {
    SPDXID: "SPDXRef-base-image",
    name: base.ref,
    ...(base.digest ? { versionInfo: base.digest } : {}),
    ...containerFields,
    externalRefs: purlRef(imagePurl(base.ref, base.digest)),
    comment: "the base image",
  };
}

/** What the reports add: licenses by package name, and pip's distributions. */
export function reportFacts(reports: StepReport[]): { licenses: Map<string, string>; distributions: Distribution[] } {
  const licenses = new Map<string, string>();
  const distributions: Distribution[] = [];
  for (const r of reports) {
    if (r.kind === "package" && r.license) licenses.set(r.name, r.license);
    if (r.kind === "pip") distributions.push(...(r.distributions ?? []));
  }
  distributions.sort((a, b) => compareStrings(a.name.toLowerCase(), b.name.toLowerCase()) || compareStrings(a.version, b.version));
  return { licenses, distributions };
}

/**
 * A stable document namespace: SPDX wants a unique URI per document; this one is derived from the
 * document's content (sha256 of everything else), so the same build gives the same namespace.
 */
function namespaceOf(name: string, contentDigest: string): string {
  return `https://conda-frontend.invalid/spdx/${encodeURIComponent(name)}-${contentDigest}`;
}

/**
 * The SPDX 2.3 document. `now` (seconds) dates it when the request has no SOURCE_DATE_EPOCH;
 * `digest` hashes text (sha256 hex), given by the caller so this module stays free of node:crypto.
 */
export function spdxDocument(req: SbomRequest, reports: StepReport[], now: number, digest: (text: string) => string): object {
  const { licenses, distributions } = reportFacts(reports);
  const conda = [...req.packages].sort((a, b) => compareStrings(a.name, b.name));
  const image: SpdxPackage = {
    SPDXID: "SPDXRef-image",
    name: req.name,
    ...containerFields,
    comment: `the image built by conda-frontend for ${req.platform}; its conda environment is ${req.prefix}`,
  };
  const condaPackages = conda.map((p) => condaPackage(p, licenses.get(p.name)));
  const pipPackages = distributions.map(pypiPackage);
  const base = basePackage(req.base);
  const idOf = new Map(conda.map((p, i) => [p.name, condaPackages[i]!.SPDXID]));
  const rel = (a: string, type: string, b: string) => ({ spdxElementId: a, relationshipType: type, relatedSpdxElement: b });
  const relationships = [
    rel("SPDXRef-DOCUMENT", "DESCRIBES", image.SPDXID),
    rel(image.SPDXID, "DESCENDANT_OF", base.SPDXID),
    ...[...condaPackages, ...pipPackages].map((p) => rel(image.SPDXID, "CONTAINS", p.SPDXID)),
    // Dependencies the lock names that are in the image (virtual packages such as __glibc are not).
    ...conda.flatMap((p) => [...new Set(p.depends)].sort(compareStrings).filter((d) => idOf.has(d)).map((d) => rel(idOf.get(p.name)!, "DEPENDS_ON", idOf.get(d)!))),
  ];
  const body = {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: req.name,
    creationInfo: {
      created: spdxDate(req.sourceDateEpoch ?? now),
      creators: [`Tool: conda-frontend (${req.tool})`],
    },
    packages: [image, base, ...condaPackages, ...pipPackages],
    relationships,
  };
  return { ...body, documentNamespace: namespaceOf(req.name, digest(JSON.stringify(body))) };
}

/** The file's text: the document, indented, with a final newline. */
export function spdxText(doc: object): string {
  return JSON.stringify(doc, null, 1) + "\n";
}
