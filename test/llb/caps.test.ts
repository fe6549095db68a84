// Capability gating: marshal refuses ops the daemon cannot run before anything is sent (it never
// rewrites a graph), metadata never names a cap the daemon did not advertise, and the stages'
// choice for a daemon without the merge op (stack by copying) makes the same layers.
import { describe, expect, it } from "vitest";
import { CapabilityError, FileActions, marshal, stack, stackMethodFor, State } from "../../src/llb";
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

function twoLayers(method: "merge" | "copy" = "merge"): State {
  const base = State.image("docker.io/library/alpine:3.19", amd64);
  const app = State.local("context");
  return stack([base, app], method, { name: "stack" });
}

describe("stacking layers: merge op or copies", () => {
  it("chooses the merge op only for a daemon that advertises mergeop (or when no caps are known)", () => {
    expect(stackMethodFor(everything)).toBe("merge");
    expect(stackMethodFor(without("mergeop"))).toBe("copy");
    expect(stackMethodFor(undefined)).toBe("merge");
  });

  it("refuses to marshal a merge op for a daemon without mergeop, naming the step (marshal never rewrites the graph)", () => {
    expect(() => marshal(twoLayers(), { caps: without("mergeop") })).toThrow(/does not support mergeop, needed by step "stack"/);
  });

  it("keeps a merge op when the daemon has mergeop", () => {
    const op = resultOp(marshal(twoLayers(), { caps: everything })).op;
    expect(op.merge).toEqual({ inputs: [{}, { input: 1 }] });
    expect(op.file).toBeUndefined();
  });

  it("stacks by copying each upper layer when told to, with no merge op anywhere", () => {
    const def = marshal(twoLayers("copy"), { caps: without("mergeop") });
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
    const def = marshal(stack(layers, "copy", { name: "stack" }), { caps: without("mergeop") });
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

  it("says in the step name that the layers were stacked by copying", () => {
    const def = marshal(twoLayers("copy"), { caps: without("mergeop") });
    const name = metadataOf(def, resultOp(def).digest)!.description!.find((d) => d.key === "llb.customname")!.value;
    expect(name).toMatch(/^stack \(copy: /);
    const kept = marshal(twoLayers(), { caps: everything });
    expect(metadataOf(kept, resultOp(kept).digest)!.description).toEqual([{ key: "llb.customname", value: "stack" }]);
  });

  it("does not name mergeop in metadata of the copying op", () => {
    const def = marshal(twoLayers("copy"), { caps: without("mergeop") });
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

  it("throws when the copying form needs a missing cap too", () => {
    expect(() => marshal(twoLayers("copy"), { caps: without("mergeop", "file.base") })).toThrow(CapabilityError);
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
    const def = marshal(stack([base, built], "copy"), { caps });
    const named = def.metadata!.flatMap((m) => (m.value.caps ?? []).map((c) => c.key));
    expect(named.length).toBeGreaterThan(0);
    for (const c of named) expect(caps.has(c)).toBe(true);
    expect(named).toContain("exec.mount.cache");
    expect(named).toContain("exec.meta.network");
  });
});

describe("encodings kept between marshal calls", () => {
  it("gives the same graph the same bytes the second time, under any caps that can run it", () => {
    const graph = twoLayers().file(new FileActions().mkdir("/app"));
    const copied = twoLayers("copy").file(new FileActions().mkdir("/app"));
    const noMerge = without("mergeop");
    const first = marshal(graph, { caps: everything });
    const lowered = marshal(copied, { caps: noMerge });
    const again = marshal(graph, { caps: everything });
    const loweredAgain = marshal(copied, { caps: noMerge });
    const hex = (d: { def: Uint8Array[] }) => d.def.map((b) => Buffer.from(b).toString("hex"));
    expect(hex(again)).toEqual(hex(first));
    expect(hex(loweredAgain)).toEqual(hex(lowered));
    expect(decodeOps(first).some((o) => o.op.merge)).toBe(true);
    expect(decodeOps(lowered).some((o) => o.op.merge)).toBe(false);
    // A graph built on the first one reuses its encodings and still lists every op it needs.
    const bigger = marshal(copied.file(new FileActions().mkdir("/data")), { caps: noMerge });
    expect(bigger.def.length).toBe(lowered.def.length + 1);
    for (const bytes of lowered.def.slice(0, -1)) expect(hex(bigger)).toContain(Buffer.from(bytes).toString("hex"));
  });
});
