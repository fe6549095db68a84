// Bridge: what the frontend sends over the gateway, checked against a fake client (no daemon).
import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { Bridge } from "../../src/gateway/bridge";
import type { GatewayClient } from "../../src/gateway/client";
import { decode, encode } from "../../src/proto/codec";
import { InvalidDefinitionError, marshal, State } from "../../src/llb";

function fakeBridge(frontendCaps: string[] = []) {
  const client = {
    solve: vi.fn(async () => ({ result: { ref: { id: "ref-1" } } })),
    warn: vi.fn(async (_request: Record<string, unknown>) => {}),
    return: vi.fn(async () => {}),
    resolveSourceMeta: vi.fn(async () => ({ Image: { Digest: "sha256:" + "a".repeat(64), Config: Buffer.from("{}") } })),
    resolveImageConfig: vi.fn(async () => ({ Digest: "", Config: Buffer.from("{}") })),
  };
  const channel = { client: {}, close: vi.fn() };
  const ctor = Bridge as unknown as new (...args: unknown[]) => Bridge;
  const bridge = new ctor(channel, client as unknown as GatewayClient, new Set<string>(), new Set(frontendCaps), []);
  return { bridge, client };
}

describe("Bridge.solve", () => {
  it("refuses a definition with a dangling input before sending anything", async () => {
    const { bridge, client } = fakeBridge();
    const exec = encode("pb.Op", { inputs: [{ digest: "sha256:" + "0".repeat(64) }], exec: { meta: { args: ["true"] }, mounts: [{ input: 0, dest: "/", output: 0 }] } });
    const terminal = encode("pb.Op", { inputs: [{ digest: "sha256:" + createHash("sha256").update(exec).digest("hex") }] });
    await expect(bridge.solve({ def: [exec, terminal] })).rejects.toBeInstanceOf(InvalidDefinitionError);
    expect(client.solve).not.toHaveBeenCalled();
  });

  it("sends a valid definition and returns the ref id", async () => {
    const { bridge, client } = fakeBridge();
    const def = marshal(State.local("context"));
    await expect(bridge.solve(def, { evaluate: true })).resolves.toBe("ref-1");
    expect(client.solve).toHaveBeenCalledWith({ Definition: def, allowResultReturn: true, allowResultArrayRef: true, Evaluate: true });
  });

  it("names the build's cache imports in every solve once they are set", async () => {
    const { bridge, client } = fakeBridge();
    const caches = [{ Type: "registry", Attrs: { ref: "localhost:5000/cache:x" } }];
    bridge.importCaches(caches);
    const def = marshal(State.local("context"));
    await bridge.solve(def);
    await bridge.solve(def, { evaluate: true });
    expect(client.solve.mock.calls.map((c) => (c as unknown as [{ CacheImports?: unknown }])[0].CacheImports)).toEqual([caches, caches]);
  });

  it("encodes CacheImports as field 12 of SolveRequest, each entry's type and attributes", () => {
    const bytes = encode("moby.buildkit.v1.frontend.SolveRequest", { CacheImports: [{ Type: "registry", Attrs: { ref: "r/c" } }] });
    const back = decode<{ CacheImports: { Type: string; Attrs: Record<string, string> }[] }>("moby.buildkit.v1.frontend.SolveRequest", bytes);
    expect(back.CacheImports).toEqual([{ Type: "registry", Attrs: { ref: "r/c" } }]);
    // tag of field 12, wire type 2 (length-delimited): (12 << 3) | 2 = 0x62
    expect(bytes[0]).toBe(0x62);
  });
});

describe("Bridge.warn", () => {
  it("sends a warning with the file attached when the daemon supports warnings", async () => {
    const { bridge, client } = fakeBridge(["gateway.warnings"]);
    const range = { start: { line: 2, character: 0 }, end: { line: 2, character: 4 } };
    await bridge.warn("careful", { filename: "environment.yml", data: Buffer.from("a\nb\n"), ranges: [range] });
    expect(client.warn).toHaveBeenCalledTimes(1);
    const req = client.warn.mock.calls[0]![0];
    expect(Buffer.from(req.short as Uint8Array).toString()).toBe("careful");
    expect(req.level).toBe(1);
    expect(req.info).toMatchObject({ filename: "environment.yml", language: "YAML" });
    expect(req.ranges).toEqual([range]);

    await bridge.warn("no lines", { filename: "environment.yml", data: Buffer.from("a"), ranges: [] });
    const bare = client.warn.mock.calls[1]![0];
    expect(bare.info).toBeUndefined();
    expect(bare.ranges).toBeUndefined();
  });

  it("falls back to stderr without the warnings cap", async () => {
    const { bridge, client } = fakeBridge();
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await bridge.warn("careful");
      expect(write).toHaveBeenCalledWith("warning: careful\n");
    } finally {
      write.mockRestore();
    }
    expect(client.warn).not.toHaveBeenCalled();
  });
});

describe("Bridge.resolveImage", () => {
  const platform = { OS: "linux", Architecture: "amd64" };

  it("uses ResolveSourceMeta when the daemon has source.metaresolver", async () => {
    const { bridge, client } = fakeBridge(["source.metaresolver"]);
    const res = await bridge.resolveImage("docker.io/library/python:3.12", platform, "default", "s");
    expect(res.digest).toBe("sha256:" + "a".repeat(64));
    expect(client.resolveSourceMeta).toHaveBeenCalledWith(expect.objectContaining({ Source: { identifier: "docker-image://docker.io/library/python:3.12" }, ResolveMode: "default" }));
    expect(client.resolveImageConfig).not.toHaveBeenCalled();
  });

  it("uses ResolveImageConfig otherwise, and gives no digest for an empty one", async () => {
    const { bridge, client } = fakeBridge();
    const res = await bridge.resolveImage("docker.io/library/python:3.12", platform, "pull", "sess");
    expect(res.digest).toBeUndefined();
    expect(client.resolveImageConfig).toHaveBeenCalledWith(expect.objectContaining({ Ref: "docker.io/library/python:3.12", ResolveMode: "pull", SessionID: "sess" }));
  });
});

describe("Bridge.returnError", () => {
  it("does not return an error after a result was returned", async () => {
    const { bridge, client } = fakeBridge();
    await bridge.returnResult({ ref: { id: "r" } });
    await bridge.returnError({ code: 2, message: "late" });
    expect(client.return).toHaveBeenCalledTimes(1);
    expect(client.return).toHaveBeenCalledWith({ result: { ref: { id: "r" } } });
  });

  it("returns an error only once", async () => {
    const { bridge, client } = fakeBridge();
    await bridge.returnError({ code: 2, message: "a" });
    await bridge.returnError({ code: 2, message: "b" });
    expect(client.return).toHaveBeenCalledTimes(1);
    expect(client.return).toHaveBeenCalledWith({ error: { code: 2, message: "a" } });
  });
});
