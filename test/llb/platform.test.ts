import { describe, expect, it } from "vitest";
import { formatPlatform, normalizePlatform, parsePlatform } from "../../src/llb";

describe("platforms", () => {
  it("parses os/arch and os/arch/variant", () => {
    expect(parsePlatform("linux/amd64")).toEqual({ OS: "linux", Architecture: "amd64" });
    expect(parsePlatform("linux/arm/v7")).toEqual({ OS: "linux", Architecture: "arm", Variant: "v7" });
    expect(parsePlatform(" Linux/AMD64 ")).toEqual({ OS: "linux", Architecture: "amd64" });
  });

  it("normalises architecture aliases and the arm64 v8 variant", () => {
    expect(parsePlatform("linux/x86_64")).toEqual({ OS: "linux", Architecture: "amd64" });
    expect(parsePlatform("linux/aarch64")).toEqual({ OS: "linux", Architecture: "arm64" });
    expect(parsePlatform("linux/arm64/v8")).toEqual({ OS: "linux", Architecture: "arm64" });
    expect(parsePlatform("linux/armhf")).toEqual({ OS: "linux", Architecture: "arm", Variant: "v7" });
    expect(normalizePlatform({ OS: "linux", Architecture: "amd64", Variant: "" })).toEqual({ OS: "linux", Architecture: "amd64" });
  });

  it("rejects malformed platforms", () => {
    for (const bad of ["linux", "linux/amd64/v1/x", "linux/", "linux/amd 64", ""]) {
      expect(() => parsePlatform(bad), bad).toThrow(/invalid platform/);
    }
  });

  it("formats without an empty variant", () => {
    expect(formatPlatform({ OS: "linux", Architecture: "amd64" })).toBe("linux/amd64");
    expect(formatPlatform({ OS: "linux", Architecture: "arm", Variant: "v7" })).toBe("linux/arm/v7");
  });
});

describe("parsePlatform with names of Object's own properties", () => {
  it("keeps constructor and __proto__ as the architecture's text, never Object's members", () => {
    expect(parsePlatform("linux/constructor")).toEqual({ OS: "linux", Architecture: "constructor" });
    expect(parsePlatform("linux/__proto__")).toEqual({ OS: "linux", Architecture: "__proto__" });
  });
});
