import { describe, expect, it } from "vitest";
import { normalizeReference, parseReference } from "../../src/image/reference";

const digest = "sha256:" + "0123456789abcdef".repeat(4);

describe("normalizeReference", () => {
  it("fills in Docker Hub, library/ and latest", () => {
    expect(normalizeReference("python")).toBe("docker.io/library/python:latest");
    expect(normalizeReference("python:3.12-slim")).toBe("docker.io/library/python:3.12-slim");
    expect(normalizeReference("continuumio/miniconda3")).toBe("docker.io/continuumio/miniconda3:latest");
    expect(normalizeReference("docker.io/python")).toBe("docker.io/library/python:latest");
  });

  it("keeps a registry host, with or without a port", () => {
    expect(normalizeReference("localhost:5000/a/b:1")).toBe("localhost:5000/a/b:1");
    expect(normalizeReference("localhost/a")).toBe("localhost/a:latest");
    expect(normalizeReference("gcr.io/distroless/base-debian12:nonroot")).toBe("gcr.io/distroless/base-debian12:nonroot");
    expect(parseReference("localhost:5000/a/b:1")).toEqual({ domain: "localhost:5000", path: "a/b", tag: "1", digest: undefined });
  });

  it("treats a single name with a colon as name:tag", () => {
    expect(normalizeReference("localhost:5000")).toBe("docker.io/library/localhost:5000");
  });

  it("keeps digests, with no latest tag added", () => {
    expect(normalizeReference(`python@${digest}`)).toBe(`docker.io/library/python@${digest}`);
    expect(normalizeReference(`python:3.12@${digest}`)).toBe(`docker.io/library/python:3.12@${digest}`);
    expect(parseReference(`ghcr.io/o/i@${digest}`)).toEqual({ domain: "ghcr.io", path: "o/i", tag: undefined, digest });
  });

  it("rejects invalid references", () => {
    for (const bad of ["", " python", "python ", "Python", "python:", "python:-x", "a//b", "python@sha256:abc", "python@md5:" + "0".repeat(32), "my_-image", "ghcr.io/", "a:b:c"]) {
      expect(() => normalizeReference(bad), bad).toThrow(/^invalid image reference /);
    }
  });

  it("names the offending part", () => {
    expect(() => normalizeReference("Python")).toThrow('invalid image reference "Python": invalid name component "Python"');
    expect(() => normalizeReference("python:bad!tag")).toThrow(/invalid tag "bad!tag"/);
  });
});
