// Golden op digests. BuildKit's cache key of an op is the sha256 of the op's protobuf bytes, so
// every byte our encoder writes is part of every cache key: a protobufjs upgrade, a codec change
// (field order, a zero written where it was left out, a packed repeated field) or a refactor of
// the builder that changes one byte would silently re-run every build step of every user, and
// miss every exported cache (--cache-from). This graph uses every op kind and option we emit
// (sources, exec, file, merge; we emit no diff op); its digests are pinned as literal strings.
// Change them only on purpose, and say so in the commit.
//
// Origin: our own output at commit 016e5fd (protobufjs 8.8), the same from a clean export of that
// commit and from the working tree of e936214. Not cross-checked against BuildKit's Go client (no
// Go toolchain on this machine): BuildKit itself only hashes the bytes we send, so what these pin
// is that our bytes do not drift, not that Go's llb package would write the same ones.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { copyTogether, FileActions, marshal, merge, State } from "../../src/llb";
import { MountType, NetMode, type PbDefinition } from "../../src/llb/pb";
import { encode } from "../../src/proto/codec";
import { decodeOps, metadataOf } from "./helpers";

const amd64 = { OS: "linux", Architecture: "amd64" };
const arm64 = { OS: "linux", Architecture: "arm64", Variant: "v8" };
const hex = (c: string) => c.repeat(64);
const owner = { uid: 65532, gid: 65532 };
const time = 1_700_000_000;

/** Every op kind and option the frontend emits, in one graph. */
function graph(): State {
  // Sources: an image pinned by digest (resolve mode, the state's env, cwd and user), our own
  // image filed as internal, a local folder with include/exclude/follow paths, downloads with a
  // checksum (and perm/uid/gid), and with an Authorization header secret.
  const base = State.image("docker.io/library/debian:12", amd64, { digest: `sha256:${hex("1")}`, resolveMode: "pull", env: ["PATH=/usr/bin:/bin"], cwd: "/work", user: "65532" });
  const tool = State.image("localhost:5000/conda-frontend:test", amd64, { digest: `sha256:${hex("2")}`, recordType: "internal" });
  const context = State.local("context", { sessionId: "session-1", include: ["src/**", "environment.yml"], exclude: ["**/*.pyc"], followPaths: ["environment.yml"], sharedKeyHint: "context" });
  const archive = State.http("https://conda.anaconda.org/conda-forge/linux-64/python-3.12.1-h0_0.conda", { checksum: `sha256:${hex("3")}`, filename: "python-3.12.1-h0_0.conda", perm: 0o644, uid: 0, gid: 0 });
  const privateArchive = State.http("https://private.example.org/channel/linux-64/x-1.0-h0_0.conda", { checksum: `sha256:${hex("4")}`, filename: "x-1.0-h0_0.conda", authHeaderSecret: "conda-auth" });

  // File ops: mkdir, mkfile (owner, mode, time), rm with a wildcard, copy with patterns and options.
  const files = State.scratch(amd64).file(
    new FileActions()
      .mkdir("/etc/app", { mode: 0o750, parents: true, owner, timestamp: time })
      .mkfile("/etc/app/config.json", '{"a": 1}\n', { mode: 0o600, owner, timestamp: time })
      .rm("/etc/app/*.tmp", { allowNotFound: true, allowWildcard: true })
      .copy(context, "/src", "/app/src", { contents: true, followSymlinks: true, createDestPath: true, allowWildcard: true, allowEmptyWildcard: true, include: ["**/*.py"], exclude: ["tests/**"], mode: 0o644, owner, timestamp: time }),
    { name: "app files" },
  );

  // Exec: env (the state's and the run's), user, cwd, no network, a read-only root, and bind
  // (read-only, with a selector, writable from scratch), cache, secret and tmpfs mounts.
  const install = tool
    .withEnv("LANG", "C.UTF-8")
    .withUser("1000")
    .withCwd("/w")
    .withNetwork("none")
    .run({
      args: ["node", "/cli.js", "install", "python-3.12.1-h0_0.conda"],
      env: { CONDA_FRONTEND_INSTALL_REQUEST: '{"archive":"/pkg/python-3.12.1-h0_0.conda"}' },
      readonlyRoot: true,
      mounts: [
        { type: "bind", dest: "/pkg", from: archive, readonly: true },
        { type: "bind", dest: "/ctx", from: context, selector: "/src", readonly: true },
        { type: "bind", dest: "/out", from: State.scratch() },
        { type: "bind", dest: "/report", from: State.scratch() },
        { type: "cache", dest: "/cache", id: "conda-pkgs", sharing: "locked" },
        { type: "secret", dest: "/run/secrets/conda-auth", id: "conda-auth", uid: 1000, gid: 1000, mode: 0o400, optional: true },
        { type: "tmpfs", dest: "/tmp", size: 64 * 1024 * 1024 },
        { type: "tmpfs", dest: "/scratch" },
      ],
      name: "[install] python",
    });
  // An exec on the base image with the host network, writing its root, and one on another platform.
  const hostRun = base.run({ args: ["sh", "-c", "cp /pkg/* /opt/"], network: "host", mounts: [{ type: "bind", dest: "/pkg", from: privateArchive, readonly: true }] }).root();
  const armFiles = State.scratch(arm64).file(new FileActions().mkfile("/arch", "arm64\n"));

  // Layers: a copy of several states into one (copyTogether), and the merge op over all.
  const grouped = copyTogether([install.mount("/out"), files], { name: "grouped" });
  return merge([base, install.mount("/out"), hostRun, grouped, armFiles], { name: "image" });
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const nameOf = (def: PbDefinition, digest: string) => metadataOf(def, digest)?.description?.find((d) => d.key === "llb.customname")?.value ?? "(terminal)";

/** [llb.customname, digest] of every op, in the definition's order (inputs first, the terminal op last). */
const golden: [string, string][] = [
  ["[base] docker.io/library/debian:12", "sha256:a8b59fc8fa4389fcf867df5b22c56d432e287c36d4d533c54f56fabf5f1201de"],
  ["[base] localhost:5000/conda-frontend:test", "sha256:87b6b4c48836bdd628ecc0828f9dbaf0548152828b71093883b3662c68acbc59"],
  ["[local] context", "sha256:3f65d9eea7d9864629a8649a9d2daf948f6df374075eb9c8368840a4b8ad6b43"],
  ["[download] python-3.12.1-h0_0.conda", "sha256:280c7b7b28aeddc78442c2c829e0974711fa1d6003b888bf9c3b2f0a82612dbb"],
  ["[install] python", "sha256:55f92c624fb978ea733da34c6ff0175920eed08a8c1690d58056100e701215cc"],
  ["[download] x-1.0-h0_0.conda", "sha256:cca784cac13d02bd31535f2d4edbfb8465bd647bbf4accf06d4daff834a12aa8"],
  ["sh -c cp /pkg/* /opt/", "sha256:40b7d275468128aee0e6dad39ad3c4d10f934515472791b0d32a8e580df495c2"],
  ["app files", "sha256:b74923d21a1b26e0ea070a4b11fe6520480c709e519d0f489e8d040e56704979"],
  ["grouped", "sha256:450a9bb329a6cdad0eb18785a9d7fad86e68f7c1f9a772b72fc6116677360c4c"],
  ["mkfile /arch", "sha256:c0685281644134c744c6d0a0e2a8b7687523a96134e166abf6f5082f42314782"],
  ["image", "sha256:a4442fe79186ef48a09acd76c1eb75bfcfd8dc49024a7e169b2cefd455d2eb49"],
  ["(terminal)", "sha256:238095dd95030eb9626f35898ced2b7cf69d0730d5848ea7f9a0d2ae2e66e26d"],
];

/** sha256 of the whole pb.Definition as sent to BuildKit: the ops' bytes and their metadata (names, caps). */
const goldenDefinition = "sha256:c67739435dd5c0cbb7e3d161e58902659c1cb803dd4d98ffc6acd048e2b4495f";

describe("golden op digests: a protobufjs upgrade or codec change cannot silently change cache keys", () => {
  it("the graph has every op kind and option the frontend emits", () => {
    const ops = decodeOps(marshal(graph())).map((o) => o.op);
    const identifiers = ops.flatMap((o) => (o.source ? [o.source.identifier.split(":")[0]] : []));
    expect(new Set(identifiers)).toEqual(new Set(["docker-image", "local", "https"]));
    const attrs = new Set(ops.flatMap((o) => (o.source?.attrs ?? []).map((a) => a.key)));
    for (const a of ["image.resolvemode", "image.recordtype", "local.includepattern", "local.excludepatterns", "local.followpaths", "local.sharedkeyhint", "local.session", "http.checksum", "http.filename", "http.perm", "http.uid", "http.gid", "http.authheadersecret"]) {
      expect(attrs, a).toContain(a);
    }
    const mounts = ops.flatMap((o) => o.exec?.mounts ?? []);
    expect(new Set(mounts.map((m) => m.mountType ?? MountType.BIND))).toEqual(new Set([MountType.BIND, MountType.SECRET, MountType.CACHE, MountType.TMPFS]));
    expect(mounts.some((m) => m.selector)).toBe(true);
    expect(mounts.some((m) => m.dest === "/" && m.readonly)).toBe(true);
    expect(new Set(ops.flatMap((o) => (o.exec ? [o.exec.network ?? NetMode.UNSET] : [])))).toEqual(new Set([NetMode.HOST, NetMode.NONE]));
    expect(ops.some((o) => o.exec?.meta.user && o.exec.meta.cwd !== "/")).toBe(true);
    const actions = new Set(ops.flatMap((o) => (o.file?.actions ?? []).flatMap((a) => ["mkdir", "mkfile", "rm", "copy"].filter((k) => (a as unknown as Record<string, unknown>)[k]))));
    expect(actions).toEqual(new Set(["mkdir", "mkfile", "rm", "copy"]));
    expect(ops.filter((o) => o.merge)).toHaveLength(1);
    expect(new Set(ops.flatMap((o) => (o.platform ? [o.platform.Architecture] : [])))).toEqual(new Set(["amd64", "arm64"]));
  });

  it("pins every op's digest", () => {
    const def = marshal(graph());
    const ops = decodeOps(def);
    for (const o of ops) expect(sha256(o.bytes)).toBe(o.digest);
    expect(ops.map((o) => [nameOf(def, o.digest), o.digest])).toEqual(golden);
  });

  it("pins the definition's bytes, metadata included", () => {
    expect(sha256(encode("pb.Definition", marshal(graph())))).toBe(goldenDefinition);
  });
});
