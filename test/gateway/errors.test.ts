// The google.rpc.Status a failed build returns, with BuildKit's errdefs.Source detail.
import { describe, expect, it } from "vitest";
import { Code, sourceDetail, sourceDetailType, statusOf } from "../../src/gateway/errors";
import { encode, decode } from "../../src/proto/codec";

const text = "name: x\nimage:\n  user: [1, 2]\n";
const range = { start: { line: 3, character: 8 }, end: { line: 3, character: 14 } };

describe("sourceDetail", () => {
  it("uses errdefs.Source's JSON type URL", () => {
    expect(sourceDetailType).toBe("github.com/moby/buildkit/errdefs.Source+json");
    expect(sourceDetail({ filename: "environment.yml", data: Buffer.from(text), ranges: [range] }).type_url).toBe(sourceDetailType);
  });

  it("writes the file as base64 and the ranges with 1-based lines", () => {
    const detail = sourceDetail({ filename: "environment.yml", data: Buffer.from(text), ranges: [range] });
    const json = JSON.parse(Buffer.from(detail.value).toString("utf8"));
    expect(json).toEqual({
      info: { filename: "environment.yml", data: Buffer.from(text).toString("base64"), language: "YAML" },
      ranges: [{ start: { line: 3, character: 8 }, end: { line: 3, character: 14 } }],
    });
    expect(Buffer.from(json.info.data, "base64").toString("utf8")).toBe(text);
  });

  it("omits zero positions like Go's omitempty", () => {
    const detail = sourceDetail({ filename: "f", data: new Uint8Array([65]), ranges: [{ start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }] });
    expect(JSON.parse(Buffer.from(detail.value).toString()).ranges).toEqual([{ start: { line: 2 }, end: { line: 2 } }]);
  });
});

describe("statusOf", () => {
  it("attaches the source detail only when there are ranges", () => {
    const withRanges = statusOf("bad", Code.InvalidArgument, { filename: "environment.yml", data: Buffer.from(text), ranges: [range] });
    expect(withRanges.code).toBe(3);
    expect(withRanges.message).toBe("bad");
    expect(withRanges.details).toHaveLength(1);
    expect(withRanges.details![0]!.type_url).toBe(sourceDetailType);
    expect(statusOf("bad", Code.InvalidArgument, { filename: "f", data: Buffer.from(text), ranges: [] }).details).toBeUndefined();
    expect(statusOf("boom", Code.Unknown)).toEqual({ code: 2, message: "boom" });
  });

  it("encodes as a google.rpc.Status", () => {
    const status = statusOf("bad", Code.InvalidArgument, { filename: "environment.yml", data: Buffer.from(text), ranges: [range] });
    const back = decode<{ code: number; message: string; details: { type_url: string; value: Uint8Array }[] }>("google.rpc.Status", encode("google.rpc.Status", status));
    expect(back.code).toBe(3);
    expect(back.details[0]!.type_url).toBe(sourceDetailType);
    expect(JSON.parse(Buffer.from(back.details[0]!.value).toString()).info.filename).toBe("environment.yml");
  });
});
