// Source ops: identifiers, attrs and caps of image, local and http sources.
import { describe, expect, it } from "vitest";
import { marshal, State } from "../../src/llb";
import { amd64, decodeOps, metadataOf } from "./helpers";

function sourceOf(st: State) {
  const def = marshal(st);
  const o = decodeOps(def)[0]!;
  const attrs = Object.fromEntries((o.op.source!.attrs ?? []).map((a) => [a.key, a.value]));
  const caps = (metadataOf(def, o.digest)!.caps ?? []).map((c) => c.key);
  return { op: o.op, identifier: o.op.source!.identifier, attrs, caps };
}

describe("image sources", () => {
  it("pins the reference to a resolved digest", () => {
    const digest = "sha256:" + "a".repeat(64);
    expect(sourceOf(State.image("docker.io/library/python:3.12", amd64, { digest })).identifier).toBe(`docker-image://docker.io/library/python:3.12@${digest}`);
    const old = "sha256:" + "b".repeat(64);
    expect(sourceOf(State.image(`docker.io/library/python:3.12@${old}`, amd64, { digest })).identifier).toBe(`docker-image://docker.io/library/python:3.12@${digest}`);
  });

  it("carries the platform, and the resolve mode only when not default", () => {
    const plain = sourceOf(State.image("docker.io/library/python:3.12", amd64, { resolveMode: "default" }));
    expect(plain.op.platform).toMatchObject(amd64);
    expect(plain.attrs).toEqual({});
    expect(plain.caps).toEqual(["source.image"]);
    const pull = sourceOf(State.image("docker.io/library/python:3.12", amd64, { resolveMode: "pull" }));
    expect(pull.attrs).toEqual({ "image.resolvemode": "pull" });
    expect(pull.caps).toEqual(["source.image", "source.image.resolvemode"]);
  });

  it("gives the image's env, cwd and user to later exec steps", () => {
    const st = State.image("docker.io/library/python:3.12", amd64, { env: ["PATH=/x", "LANG=C"], cwd: "/srv", user: "app" });
    const exec = decodeOps(marshal(st.run({ args: ["x"] }).root())).find((o) => o.op.exec)!.op.exec!;
    expect(exec.meta).toMatchObject({ env: ["PATH=/x", "LANG=C"], cwd: "/srv", user: "app" });
  });
});

describe("local sources", () => {
  it("writes no attrs and only the base cap without options", () => {
    const s = sourceOf(State.local("context"));
    expect(s.identifier).toBe("local://context");
    expect(s.attrs).toEqual({});
    expect(s.caps).toEqual(["source.local"]);
    expect(s.op.platform).toBeUndefined();
  });

  it("writes patterns as JSON lists", () => {
    const s = sourceOf(State.local("context", { include: ["a", "b/*"], exclude: ["*.pyc"], followPaths: ["x"] }));
    expect(JSON.parse(s.attrs["local.includepattern"]!)).toEqual(["a", "b/*"]);
    expect(JSON.parse(s.attrs["local.excludepatterns"]!)).toEqual(["*.pyc"]);
    expect(JSON.parse(s.attrs["local.followpaths"]!)).toEqual(["x"]);
  });

  it("leaves out empty pattern lists", () => {
    expect(sourceOf(State.local("context", { include: [], exclude: [] })).attrs).toEqual({});
  });
});

describe("http sources", () => {
  it("writes checksum, filename, permissions and owner", () => {
    const checksum = "sha256:" + "c".repeat(64);
    const s = sourceOf(State.http("https://example.com/a.tar", { checksum, filename: "a.tar", perm: 0o755, uid: 1, gid: 2 }));
    expect(s.identifier).toBe("https://example.com/a.tar");
    expect(s.attrs).toEqual({ "http.checksum": checksum, "http.filename": "a.tar", "http.perm": "0755", "http.uid": "1", "http.gid": "2" });
    expect(s.caps).toEqual(["soruce.http.uidgid", "source.http", "source.http.checksum", "source.http.perm"]);
  });

  it("rejects non-http URLs and malformed checksums", () => {
    expect(() => State.http("ftp://example.com/a")).toThrow(/http\(s\) URL/);
    expect(() => State.http("https://example.com/a", { checksum: "md5:abc" })).toThrow(/sha256/);
  });
});
