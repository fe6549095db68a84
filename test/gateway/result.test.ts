// imageResult(): the Result a build returns for one platform or several.
import { describe, expect, it } from "vitest";
import { imageResult } from "../../src/gateway/result";
import type { Result } from "../../src/gateway/messages";
import { decode, encode } from "../../src/proto/codec";

const json = (b: Uint8Array | undefined) => JSON.parse(Buffer.from(b!).toString("utf8"));
const amd64 = { OS: "linux", Architecture: "amd64" };
const armv7 = { OS: "linux", Architecture: "arm", Variant: "v7" };

describe("imageResult", () => {
  it("returns a single ref and containerimage.config for one platform", () => {
    const base = Buffer.from('{"os":"linux"}');
    const r = imageResult([{ platform: amd64, refId: "ref-1", config: { os: "linux", architecture: "amd64" }, baseConfig: base }], { "source.date.epoch": Buffer.from("5") });
    expect(r.ref).toEqual({ id: "ref-1" });
    expect(r.refs).toBeUndefined();
    expect(json(r.metadata!["containerimage.config"])).toEqual({ os: "linux", architecture: "amd64" });
    expect(Buffer.from(r.metadata!["containerimage.base.config"]!)).toEqual(base);
    expect(Buffer.from(r.metadata!["source.date.epoch"]!).toString()).toBe("5");
    expect(Object.keys(r.metadata!).filter((k) => k.includes("/"))).toEqual([]);
  });

  it("leaves out the base config when there is none", () => {
    const r = imageResult([{ platform: amd64, refId: "r", config: {} }]);
    expect(Object.keys(r.metadata!)).toEqual(["containerimage.config"]);
  });

  it("returns refs keyed by platform, per-platform configs and refs.platforms for several", () => {
    const r = imageResult([
      { platform: amd64, refId: "ref-a", config: { architecture: "amd64" } },
      { platform: armv7, refId: "ref-b", config: { architecture: "arm", variant: "v7" }, baseConfig: Buffer.from("{}") },
    ]);
    expect(r.ref).toBeUndefined();
    expect(r.refs).toEqual({ refs: { "linux/amd64": { id: "ref-a" }, "linux/arm/v7": { id: "ref-b" } } });
    expect(r.metadata!["containerimage.config"]).toBeUndefined();
    expect(json(r.metadata!["containerimage.config/linux/amd64"])).toEqual({ architecture: "amd64" });
    expect(json(r.metadata!["containerimage.config/linux/arm/v7"])).toEqual({ architecture: "arm", variant: "v7" });
    expect(r.metadata!["containerimage.base.config/linux/amd64"]).toBeUndefined();
    expect(r.metadata!["containerimage.base.config/linux/arm/v7"]).toBeDefined();
    expect(json(r.metadata!["refs.platforms"])).toEqual({
      Platforms: [
        { ID: "linux/amd64", Platform: { os: "linux", architecture: "amd64" } },
        { ID: "linux/arm/v7", Platform: { os: "linux", architecture: "arm", variant: "v7" } },
      ],
    });
  });
});

describe("the SBOM attestation", () => {
  const sbom = { refId: "sbom-ref", path: "/sbom.spdx.json" };

  it("is an in-toto SPDX attestation keyed by the platform, pointing at the document's ref and path, with a Self subject for the exporter to fill in", () => {
    const r = imageResult([{ platform: amd64, refId: "ref-1", config: {}, sbom }]);
    expect(r.attestations).toEqual({
      "linux/amd64": { attestation: [{ kind: 0, metadata: { reason: Buffer.from("sbom") }, ref: { id: "sbom-ref" }, path: "/sbom.spdx.json", inTotoPredicateType: "https://spdx.dev/Document", inTotoSubjects: [{ kind: 0 }] }] },
    });
  });

  it("is keyed by each platform's id in a multi-platform result, and left out without an SBOM", () => {
    const r = imageResult([{ platform: amd64, refId: "a", config: {}, sbom }, { platform: armv7, refId: "b", config: {}, sbom: { ...sbom, refId: "sbom-b" } }]);
    expect(Object.keys(r.attestations!)).toEqual(["linux/amd64", "linux/arm/v7"]);
    expect(r.attestations!["linux/arm/v7"]!.attestation[0]!.ref).toEqual({ id: "sbom-b" });
    expect(imageResult([{ platform: amd64, refId: "a", config: {} }]).attestations).toBeUndefined();
  });

  it("encodes as gateway.proto's Result.attestations (field 12) and decodes back to the same attestation", () => {
    const r = imageResult([{ platform: amd64, refId: "ref-1", config: {}, sbom }]);
    const bytes = encode("moby.buildkit.v1.frontend.Result", r);
    const back = decode<Result>("moby.buildkit.v1.frontend.Result", bytes);
    const att = back.attestations!["linux/amd64"]!.attestation[0]!;
    expect(att.ref).toEqual({ id: "sbom-ref" });
    expect(att.path).toBe("/sbom.spdx.json");
    expect(att.inTotoPredicateType).toBe("https://spdx.dev/Document");
    expect(Buffer.from(att.metadata!.reason!).toString()).toBe("sbom");
    // proto3 leaves zero enums (InToto, Self) off the wire: the subject is an empty message.
    expect(att.kind ?? 0).toBe(0);
    expect(att.inTotoSubjects).toHaveLength(1);
  });
});
