// Capability gating: ops the daemon cannot run are lowered to equivalents or refused before
// anything is sent, and metadata never names a cap the daemon did not advertise.
import { describe, expect, it } from "vitest";
import { CapabilityError, FileActions, marshal, merge, State } from "../../src/llb";
import { amd64, decodeOps, metadataOf, opByDigest, resultOp } from "./helpers";

const everything = new Set([
  "source.image",
  "source.local",
  "file.base",
  "exec.meta.base",
  "exec.mount.bind",
  "exec.meta.network",
  "exec.mount.cache",
  "exec.mount.cache.sharing",
  "mergeop",
]);
const without = (...caps: string[]) => new Set([...everything].filter((c) => !caps.includes(c)));

function twoLayers(): State {
  const base = State.image("docker.io/library/alpine:3.19", amd64);
  const app = State.local("context");
  return merge([base, app], { name: "stack" });
}

describe("merge lowering", () => {
  it("keeps a merge op when the daemon has mergeop", () => {
    const op = resultOp(marshal(twoLayers(), { caps: everything })).op;
    expect(op.merge).toEqual({ inputs: [{}, { input: 1 }] });
    expect(op.file).toBeUndefined();
  });

  it("lowers a merge to a copy of each upper layer when mergeop is missing", () => {
    const def = marshal(twoLayers(), { caps: without("mergeop") });
    const op = resultOp(def).op;
    expect(op.merge).toBeUndefined();
    expect(op.file!.actions).toHaveLength(1);
    const action = op.file!.actions[0]!;
    expect(action.input ?? 0).toBe(0);
    expect(action.secondaryInput).toBe(1);
    expect(action.copy).toMatchObject({ src: "/", dest: "/", dirCopyContents: true, createDestPath: true, mode: -1, timestamp: -1 });
    expect(decodeOps(def).some((o) => o.op.merge)).toBe(false);
  });

  it("copies in one op per upper layer, each onto the one before, so each stays a layer of its own", () => {
    const layers = [State.image("docker.io/library/alpine:3.19", amd64), State.local("a"), State.local("b")];
    const def = marshal(merge(layers, { name: "stack" }), { caps: without("mergeop") });
    const top = resultOp(def);
    expect(top.op.file!.actions).toHaveLength(1);
    expect(top.op.file!.actions[0]).toMatchObject({ secondaryInput: 1 });
    const below = opByDigest(def, top.op.inputs![0]!.digest);
    expect(below.op.file!.actions).toHaveLength(1);
    expect(opByDigest(def, top.op.inputs![1]!.digest).op.source!.identifier).toBe("local://b");
    expect(opByDigest(def, below.op.inputs![1]!.digest).op.source!.identifier).toBe("local://a");
    expect(opByDigest(def, below.op.inputs![0]!.digest).op.source!.identifier).toBe("docker-image://docker.io/library/alpine:3.19");
    const names = [below, top].map((o) => metadataOf(def, o.digest)!.description!.find((d) => d.key === "llb.customname")!.value);
    expect(names).toEqual(["stack (copy 1/2: the daemon has no merge op)", "stack (copy 2/2: the daemon has no merge op)"]);
  });

  it("says in the step name that the merge was done by copying", () => {
    const def = marshal(twoLayers(), { caps: without("mergeop") });
    const name = metadataOf(def, resultOp(def).digest)!.description!.find((d) => d.key === "llb.customname")!.value;
    expect(name).toMatch(/^stack \(copy: /);
    const kept = marshal(twoLayers(), { caps: everything });
    expect(metadataOf(kept, resultOp(kept).digest)!.description).toEqual([{ key: "llb.customname", value: "stack" }]);
  });

  it("does not name mergeop in metadata of the lowered op", () => {
    const def = marshal(twoLayers(), { caps: without("mergeop") });
    const caps = def.metadata!.flatMap((m) => (m.value.caps ?? []).map((c) => c.key));
    expect(caps).not.toContain("mergeop");
    expect(caps).toContain("file.base");
  });

  it("assumes every cap when none are given", () => {
    expect(resultOp(marshal(twoLayers())).op.merge).toBeDefined();
  });
});

describe("refused ops", () => {
  it("throws CapabilityError naming the missing network cap for a host-network exec", () => {
    const st = State.image("docker.io/library/alpine:3.19", amd64).run({ args: ["apk", "add", "x"], network: "host" }).root();
    let error: unknown;
    try {
      marshal(st, { caps: without("exec.meta.network") });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CapabilityError);
    expect((error as CapabilityError).missing).toEqual(["exec.meta.network"]);
    expect((error as CapabilityError).vertexName).toBe("apk add x");
    expect((error as Error).message).toContain("exec.meta.network");
    expect((error as Error).message).toContain('"apk add x"');
  });

  it("accepts the same exec when the daemon has the cap", () => {
    const st = State.image("docker.io/library/alpine:3.19", amd64).withNetwork("host").run({ args: ["true"] }).root();
    const op = resultOp(marshal(st, { caps: everything })).op;
    expect(op.exec!.network).toBe(1);
  });

  it("throws when even the lowered form needs a missing cap", () => {
    expect(() => marshal(twoLayers(), { caps: without("mergeop", "file.base") })).toThrow(CapabilityError);
  });

  it("does not need the network cap for the default sandbox network", () => {
    const st = State.image("docker.io/library/alpine:3.19", amd64).run({ args: ["true"] }).root();
    expect(() => marshal(st, { caps: without("exec.meta.network") })).not.toThrow();
  });
});

describe("caps in metadata", () => {
  it("never names caps outside the advertised set", () => {
    const base = State.image("docker.io/library/alpine:3.19", amd64);
    const built = base
      .run({ args: ["build"], network: "host", mounts: [{ type: "cache", dest: "/root/.cache", id: "pip", sharing: "locked" }] })
      .root();
    const caps = without("mergeop");
    const def = marshal(merge([base, built]), { caps });
    const named = def.metadata!.flatMap((m) => (m.value.caps ?? []).map((c) => c.key));
    expect(named.length).toBeGreaterThan(0);
    for (const c of named) expect(caps.has(c)).toBe(true);
    expect(named).toContain("exec.mount.cache");
    expect(named).toContain("exec.meta.network");
  });
});

describe("encodings kept between marshal calls", () => {
  it("gives the same graph the same bytes the second time, and its lowered form under other caps", () => {
    const graph = twoLayers().file(new FileActions().mkdir("/app"));
    const noMerge = without("mergeop");
    const first = marshal(graph, { caps: everything });
    const lowered = marshal(graph, { caps: noMerge });
    const again = marshal(graph, { caps: everything });
    const loweredAgain = marshal(graph, { caps: noMerge });
    const hex = (d: { def: Uint8Array[] }) => d.def.map((b) => Buffer.from(b).toString("hex"));
    expect(hex(again)).toEqual(hex(first));
    expect(hex(loweredAgain)).toEqual(hex(lowered));
    expect(decodeOps(first).some((o) => o.op.merge)).toBe(true);
    expect(decodeOps(lowered).some((o) => o.op.merge)).toBe(false);
    // A graph built on the first one reuses its encodings and still lists every op it needs.
    const bigger = marshal(graph.file(new FileActions().mkdir("/data")), { caps: noMerge });
    expect(bigger.def.length).toBe(lowered.def.length + 1);
    for (const bytes of lowered.def.slice(0, -1)) expect(hex(bigger)).toContain(Buffer.from(bytes).toString("hex"));
  });
});
