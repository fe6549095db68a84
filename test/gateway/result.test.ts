// imageResult(): the Result a build returns for one platform or several.
import { describe, expect, it } from "vitest";
import { imageResult } from "../../src/gateway/result";

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
