// Named build contexts: the `context:NAME` option values buildx sends, read into what we can use.
import { describe, expect, it } from "vitest";
import { ContextError, contextOptions, localSessionOptions, parseNamedContext } from "../../src/plan/contexts";
import { plan, planError } from "./helpers";

const errorOf = (name: string, value: string) => {
  try {
    parseNamedContext(name, value);
  } catch (e) {
    if (e instanceof ContextError) return e.message;
    throw e;
  }
  throw new Error("expected a ContextError");
};

describe("parseNamedContext", () => {
  it("reads docker-image:// as a normalised image reference", () => {
    expect(parseNamedContext("base", "docker-image://localhost:5000/base:1")).toEqual({ kind: "image", ref: "localhost:5000/base:1" });
    expect(parseNamedContext("base", "docker-image://python:3.12")).toEqual({ kind: "image", ref: "docker.io/library/python:3.12" });
  });

  it("reads local:NAME as a client folder, in buildx's session for it when one is named", () => {
    expect(parseNamedContext("assets", "local:assets")).toEqual({ kind: "local", local: "assets" });
    expect(parseNamedContext("assets", "local:assets", { assets: "s2" })).toEqual({ kind: "local", local: "assets", sessionId: "s2" });
  });

  it("refuses the sources it cannot read, naming the context", () => {
    expect(errorOf("x", "input:target")).toMatch(/^build context "x": frontend inputs/);
    expect(errorOf("x", "git@github.com:o/r.git")).toMatch(/^build context "x": git sources/);
    expect(errorOf("x", "https://example.com/a.tgz")).toMatch(/^build context "x": URLs are not supported/);
    expect(errorOf("x", "ftp://example.com/")).toBe('build context "x": unsupported source "ftp:"; pass a folder or docker-image://<ref>');
    expect(errorOf("x", "nothing")).toMatch(/^build context "x": expected docker-image/);
  });

  it("reads oci-layout://<store>[:tag]@digest as an image in the client's OCI layout store, named after the context", () => {
    const digest = "sha256:" + "a".repeat(64);
    expect(parseNamedContext("base", `oci-layout://k2j5st0r3:latest@${digest}`)).toEqual({ kind: "oci-layout", store: "k2j5st0r3", digest, ref: `docker.io/library/base@${digest}` });
    expect(parseNamedContext("Assets", `oci-layout://store@${digest}`)).toMatchObject({ store: "store", ref: `docker.io/library/assets@${digest}` });
  });

  it("refuses an OCI layout without a digest or with a store id that is no name", () => {
    expect(errorOf("base", "oci-layout://store:latest")).toBe('build context "base": oci-layout reference "store:latest" has no sha256 digest');
    expect(errorOf("base", "oci-layout://../x@sha256:" + "a".repeat(64))).toBe('build context "base": invalid OCI layout store "../x"');
  });

  it("refuses an invalid image reference or local name, naming the context", () => {
    expect(errorOf("base", "docker-image://UPPER/case")).toMatch(/^build context "base": invalid image reference/);
    expect(errorOf("x", "local:../etc")).toBe('build context "x": invalid local name "../etc"');
    expect(errorOf("x", "local:")).toBe('build context "x": invalid local name ""');
  });
});

describe("context options", () => {
  it("takes context:NAME options and leaves platform-qualified ones (Dockerfile FROM overrides) out", () => {
    expect(contextOptions({ "context:a": "local:a", "context:b::linux/amd64": "x", "build-arg:c": "y" })).toEqual({ a: "local:a" });
  });

  it("keeps a name like __proto__ a plain key", () => {
    const opts = contextOptions({ "context:__proto__": "local:x" });
    expect(Object.hasOwn(opts, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(opts)).toBe(Object.prototype);
  });

  it("takes local-sessionid:NAME options", () => {
    expect(localSessionOptions({ "local-sessionid:a": "s1", "local-sessionid:b": "" })).toEqual({ a: "s1" });
  });
});

describe("planBuild with named contexts", () => {
  const withFrom = "name: x\nimage:\n  app:\n    copy:\n      - web\n      - {from: assets, src: /static, dest: static}\n";

  it("replaces image.base with --build-context base=docker-image://, naming the context", () => {
    const p = plan("image:\n  base: python:3.12\n", "context:base=docker-image://localhost:5000/other:1");
    expect(p.base).toEqual({ ref: "localhost:5000/other:1", origin: "build context base", context: "base" });
  });

  it("refuses a base context that is a folder or a frontend input, and BASE_IMAGE as well", () => {
    expect(planError("name: x\n", "context:base=local:base").problems[0]!.message).toBe(
      'image.base: build context "base" is a folder; the base must be an image: --build-context base=docker-image://<ref> or oci-layout://<folder>',
    );
    expect(planError("name: x\n", "context:base=input:base").problems[0]!.message).toMatch(/^image\.base: build context "base": frontend inputs/);
    expect(planError("name: x\n", "context:base=docker-image://a:1", "build-arg:BASE_IMAGE=b:1").problems[0]!.message).toMatch(/both --build-context base=\.\.\. and --build-arg BASE_IMAGE/);
  });

  it("takes the base from an OCI layout context: its store in the plan, named after the context", () => {
    const digest = "sha256:" + "b".repeat(64);
    expect(plan("name: x\n", `context:base=oci-layout://st0re:latest@${digest}`).base).toEqual({ ref: `docker.io/library/base@${digest}`, origin: "build context base", context: "base", ociStore: "st0re" });
  });

  it("holds the contexts app.copy reads, and only those", () => {
    const p = plan(withFrom, "context:assets=local:assets", "context:unused=docker-image://a:1");
    expect(p.contexts).toEqual({ assets: { kind: "local", local: "assets" } });
    expect(p.appCopy.map((c) => [c.value, c.from, c.dest])).toEqual([
      ["web", undefined, undefined],
      ["static", "assets", "static"],
    ]);
  });

  it("leaves contexts out of the plan when app.copy reads none (plan.json unchanged)", () => {
    expect("contexts" in plan("name: x\nimage:\n  app:\n    copy: [web]\n", "context:assets=local:assets")).toBe(false);
  });

  it("names an unknown context at its line", () => {
    const e = planError(withFrom);
    expect(e.problems.map((p) => [p.range?.start.line, p.message])).toEqual([
      [6, 'image.app.copy: no build context named "assets"; pass --build-context assets=<folder or docker-image://ref>'],
    ]);
  });

  it("names a context of an unsupported kind at the line that reads it", () => {
    const e = planError(withFrom, "context:assets=input:assets");
    expect(e.problems.map((p) => [p.range?.start.line, p.message])).toEqual([[6, 'image.app.copy: build context "assets": frontend inputs (input:, e.g. another bake target) are not supported yet']]);
  });

  it("reads the lock in --build-context lock=..., at conda-lock.yml or the path LOCKFILE or image.lockfile names", () => {
    const p = plan("name: x\n", "context:lock=local:lock");
    expect(p.conda.lockfile).toEqual({ path: "conda-lock.yml", origin: "build context lock", required: true, context: "lock" });
    expect(p.contexts).toEqual({ lock: { kind: "local", local: "lock" } });
    const fromFile = plan("name: x\nimage:\n  lockfile: locks/linux.lock\n", "context:lock=docker-image://localhost:5000/locks:1");
    expect(fromFile.conda.lockfile).toMatchObject({ path: "locks/linux.lock", origin: "image.lockfile", context: "lock" });
    expect(fromFile.contexts).toEqual({ lock: { kind: "image", ref: "localhost:5000/locks:1" } });
    expect(plan("name: x\n", "context:lock=local:lock", "build-arg:LOCKFILE=a.lock").conda.lockfile).toMatchObject({ path: "a.lock", origin: "build arg LOCKFILE", context: "lock" });
  });

  it("keeps the lock beside the input file without a lock context", () => {
    expect(plan("name: x\nimage:\n  lockfile: a.lock\n").conda.lockfile).toEqual({ path: "a.lock", origin: "image.lockfile", required: true, range: expect.anything() });
  });

  it("refuses a lock path leaving the lock context, and a lock context of an unsupported kind, naming it", () => {
    expect(planError("name: x\n", "context:lock=local:lock", "build-arg:LOCKFILE=../a.lock").problems[0]!.message).toBe('build arg LOCKFILE: the lock file must be a path inside build context "lock", got "../a.lock"');
    expect(planError("name: x\n", "context:lock=input:lock").problems[0]!.message).toMatch(/^the lock: build context "lock": frontend inputs/);
  });
});
