// BuildKit's words for a path missing from a named build context, turned into an error at the
// app.copy entry naming the context.
import { describe, expect, it } from "vitest";
import { missingContextPath, unreadableOciContext } from "../../src/frontend/context-errors";
import { lineRange } from "../../src/input/source";

const plan = {
  appCopy: [
    { value: "web", range: lineRange(7) },
    { value: "static", from: "assets", dest: "public", range: lineRange(8) },
    { value: "shared", from: "assets", range: lineRange(9) },
    { value: "shared", range: lineRange(10) },
  ],
};
const buildkit = (path: string) => `failed to compute cache key: failed to calculate checksum of ref abc::def: "${path}": not found`;

describe("missingContextPath", () => {
  it("names the context and points at the entry that reads the missing path", () => {
    const found = missingContextPath(buildkit("/static"), plan)!;
    expect(found.message).toBe('image.app.copy: /static is not in build context "assets"');
    expect(found.entry.range.start.line).toBe(8);
  });

  it("leaves paths of the build context itself, and paths read from two places, to BuildKit's words", () => {
    expect(missingContextPath(buildkit("/web"), plan)).toBeUndefined();
    expect(missingContextPath(buildkit("/shared"), plan)).toBeUndefined();
  });

  it("leaves other failures alone", () => {
    expect(missingContextPath("process did not complete successfully: exit code: 1", plan)).toBeUndefined();
  });
});

describe("unreadableOciContext", () => {
  const oci = { ...plan, contexts: { assets: { kind: "oci-layout" as const, store: "s", digest: "sha256:" + "a".repeat(64), ref: "docker.io/library/assets@sha256:" + "a".repeat(64) } } };

  it("names the OCI layout context a daemon without an OCI layout source cannot read, at its entry", () => {
    const found = unreadableOciContext("failed to load cache key: unknown scheme oci-layout: not found", oci)!;
    expect(found.message).toMatch(/^image\.app\.copy: build context "assets" is an OCI layout folder, which this daemon cannot read/);
    expect(found.entry.range.start.line).toBe(8);
  });

  it("leaves the message alone when no context is an OCI layout", () => {
    expect(unreadableOciContext("unknown scheme oci-layout: not found", { ...plan, contexts: { assets: { kind: "local", local: "assets" } } })).toBeUndefined();
  });
});
