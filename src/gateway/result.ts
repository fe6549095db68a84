// The Result a build returns: one ref and its image config for a single platform, or refs keyed
// by platform plus the `refs.platforms` list for a multi-platform build.
import type { Result } from "./messages";
import { formatPlatform } from "../llb/platform";
import type { PbPlatform } from "../llb/pb";

export interface PlatformResult {
  platform: PbPlatform;
  refId: string;
  config: object;
  baseConfig?: Uint8Array;
  /** The platform's SBOM: a solved ref holding the SPDX document, and its path in it. */
  sbom?: { refId: string; path: string };
}

/** gateway.proto's enums, by value. */
export const AttestationKind = { InToto: 0, Bundle: 1 } as const;
export const InTotoSubjectKind = { Self: 0, Raw: 1 } as const;

/** The in-toto predicate type BuildKit looks for before it runs its own SBOM scanner. */
export const spdxPredicateType = "https://spdx.dev/Document";

/**
 * Result.attestations: per platform id, the SBOM as an in-toto attestation of SPDX. Its subject is
 * `Self` with no name or digest: the image exporter fills in the image's own name and manifest
 * digest, as it does for the SBOM its scanner makes. `reason: sbom` is the metadata BuildKit's
 * frontends give an SBOM (the exporter files it as such).
 */
export function sbomAttestations(results: PlatformResult[]): Result["attestations"] {
  const out: NonNullable<Result["attestations"]> = {};
  for (const r of results) {
    if (!r.sbom) continue;
    out[formatPlatform(r.platform)] = {
      attestation: [{ kind: AttestationKind.InToto, metadata: { reason: Buffer.from("sbom") }, ref: { id: r.sbom.refId }, path: r.sbom.path, inTotoPredicateType: spdxPredicateType, inTotoSubjects: [{ kind: InTotoSubjectKind.Self }] }],
    };
  }
  return Object.keys(out).length ? out : undefined;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

export function imageResult(results: PlatformResult[], extra: Record<string, Uint8Array> = {}): Result {
  const metadata: Record<string, Uint8Array> = { ...extra };
  if (results.length === 1) {
    const [r] = results as [PlatformResult];
    metadata["containerimage.config"] = json(r.config);
    if (r.baseConfig) metadata["containerimage.base.config"] = r.baseConfig;
    return withAttestations({ ref: { id: r.refId }, metadata }, results);
  }
  const refs: Record<string, { id: string }> = {};
  const platforms = results.map((r) => {
    const id = formatPlatform(r.platform);
    refs[id] = { id: r.refId };
    metadata[`containerimage.config/${id}`] = json(r.config);
    if (r.baseConfig) metadata[`containerimage.base.config/${id}`] = r.baseConfig;
    const platform: Record<string, string> = { os: r.platform.OS, architecture: r.platform.Architecture };
    if (r.platform.Variant) platform.variant = r.platform.Variant;
    return { ID: id, Platform: platform };
  });
  metadata["refs.platforms"] = json({ Platforms: platforms });
  return withAttestations({ refs: { refs }, metadata }, results);
}

function withAttestations(result: Result, results: PlatformResult[]): Result {
  const attestations = sbomAttestations(results);
  return attestations ? { ...result, attestations } : result;
}
