// marshal(): deterministic bytes, digests over exactly those bytes, sorted map entries, the
// terminal op last, shared sub-graphs written once.
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../src/proto/codec";
import { FileActions, marshal, merge, opDigest, State } from "../../src/llb";
import type { PbFileActionCopy, PbOp } from "../../src/llb/pb";
import { amd64, decodeOps, resultOp, sha256 } from "./helpers";

function buildGraph(): State {
  const base = State.image("docker.io/library/alpine:3.19", amd64);
  const ctx = State.local("context", { sessionId: "s1", include: ["src"], sharedKeyHint: "context" });
  const withSrc = base.copy(ctx, "/src", "/app/src", { contents: true });
  const ran = withSrc.withEnv("A", "1").run({ args: ["sh", "-c", "echo hi > /out"], cwd: "/app" }).root();
  const extra = State.scratch(amd64).file(new FileActions().mkdir("/etc/x", { mode: 0o700 }).mkfile("/etc/x/y", "data"));
  return merge([ran, extra]);
}

describe("marshal determinism", () => {
  it("gives byte-identical definitions for the same graph built twice", () => {
    const a = marshal(buildGraph());
    const b = marshal(buildGraph());
    expect(a.def.length).toBe(b.def.length);
    expect(a.def.map((d) => Buffer.from(d).toString("hex"))).toEqual(b.def.map((d) => Buffer.from(d).toString("hex")));
    expect(Buffer.from(encode("pb.Definition", a))).toEqual(Buffer.from(encode("pb.Definition", b)));
  });

  it("keys metadata by the sha256 of each op's bytes, sorted, one entry per non-terminal op", () => {
    const def = marshal(buildGraph());
    const ops = decodeOps(def);
    for (const o of ops) expect(opDigest(o.bytes)).toBe(sha256(o.bytes));
    const keys = def.metadata!.map((m) => m.key);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys)).toEqual(new Set(ops.slice(0, -1).map((o) => o.digest)));
  });

  it("sorts source attrs whatever order the options were given in", () => {
    const one = State.local("context", { include: ["a"], exclude: ["b"], sharedKeyHint: "k", sessionId: "s" });
    const two = State.local("context", { sharedKeyHint: "k", sessionId: "s", exclude: ["b"], include: ["a"] });
    const d1 = marshal(one);
    const d2 = marshal(two);
    expect(Buffer.from(d1.def[0]!)).toEqual(Buffer.from(d2.def[0]!));
    const op = decode<PbOp>("pb.Op", d1.def[0]!);
    const keys = op.source!.attrs!.map((a) => a.key);
    expect(keys).toEqual(["local.excludepatterns", "local.includepattern", "local.session", "local.sharedkeyhint"]);
    expect(op.source!.attrs!.find((a) => a.key === "local.includepattern")!.value).toBe('["a"]');
  });

  it("sorts the caps and description entries of op metadata", () => {
    const def = marshal(State.local("context", { include: ["a"], exclude: ["b"], sharedKeyHint: "k", sessionId: "s", name: "load" }));
    const md = def.metadata![0]!.value;
    const caps = md.caps!.map((c) => c.key);
    expect(caps).toEqual([...caps].sort());
    expect(caps).toEqual([
      "source.local",
      "source.local.excludepatterns",
      "source.local.includepatterns",
      "source.local.sessionid",
      "source.local.sharedkeyhint",
    ]);
    expect(md.caps!.every((c) => c.value === true)).toBe(true);
    expect(md.description).toEqual([{ key: "llb.customname", value: "load" }]);
  });

  it("ends with a terminal op: one input, no body, no platform", () => {
    const res = State.image("docker.io/library/alpine:3.19", amd64).run({ args: ["true"], mounts: [{ type: "bind", dest: "/out", from: State.scratch(amd64) }] });
    const def = marshal(res.mount("/out"));
    const ops = decodeOps(def);
    const terminal = ops[ops.length - 1]!.op;
    expect(terminal.inputs).toHaveLength(1);
    expect(terminal.platform).toBeUndefined();
    expect(terminal.exec ?? terminal.source ?? terminal.file ?? terminal.merge).toBeUndefined();
    // The result is output 1 of the exec (the writable /out mount).
    expect(terminal.inputs![0]!.index).toBe(1);
    expect(resultOp(def).op.exec).toBeDefined();
    // Every other op carries its body.
    for (const o of ops.slice(0, -1)) expect(o.op.exec ?? o.op.source ?? o.op.file ?? o.op.merge).toBeDefined();
  });

  it("lists inputs before the ops that use them", () => {
    const def = marshal(buildGraph());
    const seen = new Set<string>();
    for (const o of decodeOps(def)) {
      for (const input of o.op.inputs ?? []) expect(seen.has(input.digest)).toBe(true);
      seen.add(o.digest);
    }
  });

  it("marshals a scratch state to an empty definition", () => {
    expect(marshal(State.scratch())).toEqual({ def: [] });
  });

  it("writes a shared sub-graph (diamond) only once", () => {
    const base = State.image("docker.io/library/alpine:3.19", amd64);
    const left = base.run({ args: ["sh", "-c", "left"] }).root();
    const right = base.run({ args: ["sh", "-c", "right"] }).root();
    const def = marshal(merge([left, right]));
    const ops = decodeOps(def);
    expect(ops.filter((o) => o.op.source)).toHaveLength(1);
    expect(ops.filter((o) => o.op.exec)).toHaveLength(2);
    expect(ops).toHaveLength(5); // source, 2 execs, merge, terminal
    expect(new Set(ops.map((o) => o.digest)).size).toBe(ops.length);
    const sourceDigest = ops.find((o) => o.op.source)!.digest;
    for (const e of ops.filter((o) => o.op.exec)) expect(e.op.inputs).toEqual([{ digest: sourceDigest }]);
  });

  it("writes identical ops from separately built vertices once", () => {
    const a = State.image("docker.io/library/alpine:3.19", amd64);
    const b = State.image("docker.io/library/alpine:3.19", amd64);
    const def = marshal(merge([a.run({ args: ["x"] }).root(), b.run({ args: ["y"] }).root()]));
    expect(decodeOps(def).filter((o) => o.op.source)).toHaveLength(1);
  });

  it("walks deep graphs without overflowing the stack", () => {
    let s = State.scratch(amd64);
    for (let i = 0; i < 3000; i++) s = s.file(new FileActions().mkdir(`/d${i}`));
    const def = marshal(s);
    expect(def.def).toHaveLength(3001);
  });

  it("marks every op ignore_cache with ignoreCache", () => {
    const def = marshal(buildGraph(), { ignoreCache: true });
    expect(def.metadata!.length).toBeGreaterThan(0);
    for (const m of def.metadata!) expect(m.value.ignore_cache).toBe(true);
    for (const m of marshal(buildGraph()).metadata!) expect(m.value.ignore_cache).toBeUndefined();
  });

  it("maps vertices with source ranges to the input file", () => {
    const range = { start: { line: 3, character: 2 }, end: { line: 3, character: 9 } };
    const info = { filename: "environment.yml", data: Buffer.from("a: 1\n"), language: "YAML" };
    const s = State.image("docker.io/library/alpine:3.19", amd64, { sourceRanges: [range] });
    const def = marshal(s, { sourceInfo: info });
    const digest = decodeOps(def)[0]!.digest;
    expect(Object.keys(def.Source!.locations!)).toEqual([digest]);
    expect(def.Source!.locations![digest]).toEqual({ locations: [{ sourceIndex: 0, ranges: [range] }] });
    expect(def.Source!.infos).toEqual([info]);
    expect(marshal(s).Source).toBeUndefined();
  });
});

describe("proto3 encoding of file actions", () => {
  const copyOf = (def: ReturnType<typeof marshal>): PbFileActionCopy => resultOp(def).op.file!.actions[0]!.copy!;

  it("does not write false booleans: an explicit false gives the same bytes as leaving it out", () => {
    const ctx = State.local("context");
    const base = State.scratch(amd64);
    const explicit = marshal(base.copy(ctx, "/a", "/b", { followSymlinks: false, allowWildcard: false }));
    const implicit = marshal(base.copy(ctx, "/a", "/b"));
    expect(explicit.def.map((d) => Buffer.from(d))).toEqual(implicit.def.map((d) => Buffer.from(d)));
    const copy = copyOf(implicit);
    expect("followSymlink" in copy).toBe(false);
    expect("allowWildcard" in copy).toBe(false);
    expect(copy.createDestPath).toBe(true);

    const withTrue = copyOf(marshal(base.copy(ctx, "/a", "/b", { followSymlinks: true })));
    expect(withTrue.followSymlink).toBe(true);
  });

  it("encodes false as nothing at the message level too", () => {
    const bare = { src: "/", dest: "/", mode: -1, timestamp: -1 };
    expect(encode("pb.FileActionCopy", { ...bare, followSymlink: false }).length).toBe(encode("pb.FileActionCopy", bare).length);
    expect(encode("pb.FileActionCopy", { ...bare, followSymlink: true }).length).toBe(encode("pb.FileActionCopy", bare).length + 2);
  });

  it("sets mode and timestamp to -1 when unset", () => {
    const copy = copyOf(marshal(State.scratch(amd64).copy(State.local("context"), "/a", "/b")));
    expect(copy.mode).toBe(-1);
    expect(copy.timestamp).toBe(-1);
  });

  it("writes a given mode and a timestamp in nanoseconds", () => {
    const copy = copyOf(marshal(State.scratch(amd64).copy(State.local("context"), "/a", "/b", { mode: 0o644, timestamp: 1_700_000_000 })));
    expect(copy.mode).toBe(0o644);
    expect(copy.timestamp).toBe(1_700_000_000 * 1e9);
  });

  it("writes uid 0 of an owner (a oneof member is written even when zero)", () => {
    const copy = copyOf(marshal(State.scratch(amd64).copy(State.local("context"), "/a", "/b", { owner: { uid: 0, gid: 0 } })));
    expect(copy.owner).toEqual({ user: { byID: 0 }, group: { byID: 0 } });
  });

  it("chains actions: later actions read the previous action's output", () => {
    const ctx = State.local("context");
    const def = marshal(State.image("docker.io/library/alpine:3.19", amd64).file(new FileActions().mkdir("/a").copy(ctx, "/x", "/a/x").rm("/tmp/t")));
    const op = resultOp(def).op;
    expect(op.inputs).toHaveLength(2); // base image, context
    const [mkdir, copy, rm] = op.file!.actions;
    expect([mkdir!.input ?? 0, mkdir!.secondaryInput, mkdir!.output]).toEqual([0, -1, -1]);
    // input 2 = action 0's result (index - number of inputs), secondary input 1 = the context
    expect([copy!.input, copy!.secondaryInput ?? 0, copy!.output]).toEqual([2, 1, -1]);
    expect([rm!.input, rm!.secondaryInput, rm!.output ?? 0]).toEqual([3, -1, 0]);
  });

  it("rejects relative paths in file actions", () => {
    expect(() => State.scratch().file(new FileActions().mkdir("relative"))).toThrow(/absolute/);
    expect(() => State.scratch().copy(State.local("c"), "/a", "b")).toThrow(/absolute/);
  });
});

describe("carried inputs of a file op", () => {
  it("lists states no action reads after the others, so the op's cache key and a cache export include them", () => {
    const ctx = State.local("context", { sharedKeyHint: "context" });
    const report = State.scratch().file(new FileActions().mkfile("/r.json", "{}"), { name: "report" });
    const lock = State.scratch().file(new FileActions().mkfile("/conda-lock.yml", "x"), { name: "lock" });
    const app = State.scratch(amd64).file(new FileActions().copy(ctx, "/main.py", "/app/main.py"), { name: "app", carry: [report, lock, State.scratch()] });
    const def = marshal(app);
    const top = resultOp(def);
    const inputs = top.op.inputs!.map((i) => decodeOps(def).find((o) => o.digest === i.digest)!);
    expect(inputs.map((o) => (o.op.source ? "context" : o.op.file!.actions![0]!.mkfile!.path))).toEqual(["context", "/r.json", "/conda-lock.yml"]);
    // The one action still reads input 0 (the context) only; scratch carries nothing.
    expect(top.op.file!.actions).toHaveLength(1);
    const action = top.op.file!.actions![0]!;
    expect([action.input, action.secondaryInput ?? 0, action.output ?? 0]).toEqual([-1, 0, 0]);
    const without = resultOp(marshal(State.scratch(amd64).file(new FileActions().copy(ctx, "/main.py", "/app/main.py"), { name: "app" })));
    expect(without.digest).not.toBe(top.digest);
  });
});
