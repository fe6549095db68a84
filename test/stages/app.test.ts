// appLayer(): the workdir and the app.copy paths from the context, on an empty filesystem (or
// onto the image below, where layers are stacked by copies).
import { describe, expect, it } from "vitest";
import { marshal, State } from "../../src/llb";
import { lineRange } from "../../src/input/source";
import { appLayer, contextIncludes } from "../../src/stages/app";
import { decodeOps, metadataOf, resultOp } from "../llb/helpers";

const platform = { OS: "linux", Architecture: "amd64" };
const paths = (...values: string[]) => values.map((value, i) => ({ value, range: lineRange(i + 10) }));

function layer(copy: string[], timestamp?: number) {
  const context = State.local("context");
  const def = marshal(appLayer({ platform, workdir: "/app", copy: paths(...copy), context, timestamp }));
  return { def, op: resultOp(def).op };
}

describe("appLayer", () => {
  it("creates the workdir on scratch", () => {
    const { op, def } = layer([]);
    expect(op.inputs ?? []).toEqual([]);
    expect(op.file!.actions).toHaveLength(1);
    expect(op.file!.actions[0]).toMatchObject({ input: -1, mkdir: { path: "/app", mode: 0o755, makeParents: true, timestamp: -1 } });
    expect(op.platform).toMatchObject(platform);
    expect(decodeOps(def)).toHaveLength(2);
    expect(metadataOf(def, resultOp(def).digest)!.description).toEqual([{ key: "llb.customname", value: "[app] create /app" }]);
  });

  it("copies each path under the workdir, keeping its relative place", () => {
    const { op } = layer(["main.py", "src/pkg"]);
    const copies = op.file!.actions.slice(1).map((a) => a.copy!);
    expect(copies.map((c) => [c.src, c.dest])).toEqual([
      ["/main.py", "/app/main.py"],
      ["/src/pkg", "/app/src/pkg"],
    ]);
    for (const c of copies) expect(c).toMatchObject({ dirCopyContents: true, createDestPath: true, mode: -1, timestamp: -1 });
    // Every copy reads the context (input 0 of the op) and the previous action's result.
    expect(op.inputs).toHaveLength(1);
    expect(op.file!.actions.map((a) => [a.input ?? 0, a.secondaryInput ?? 0])).toEqual([
      [-1, -1],
      [1, 0],
      [2, 0],
    ]);
  });

  it("copies the whole context for '.'", () => {
    const copy = layer(["."]).op.file!.actions[1]!.copy!;
    expect(copy).toMatchObject({ src: "/", dest: "/app", dirCopyContents: true });
  });

  it("copies wildcard matches into their folder", () => {
    const [top, nested] = layer(["*.py", "conf/*.yml"]).op.file!.actions.slice(1).map((a) => a.copy!);
    expect(top).toMatchObject({ src: "/*.py", dest: "/app/", allowWildcard: true });
    expect(nested).toMatchObject({ src: "/conf/*.yml", dest: "/app/conf/", allowWildcard: true });
  });

  it("stamps every file with SOURCE_DATE_EPOCH", () => {
    const actions = layer(["src"], 1_700_000_000).op.file!.actions;
    expect(actions[0]!.mkdir!.timestamp).toBe(1_700_000_000 * 1e9);
    expect(actions[1]!.copy!.timestamp).toBe(1_700_000_000 * 1e9);
  });

  it("names the step after the paths and maps it to their lines", () => {
    const context = State.local("context");
    const info = { filename: "environment.yml", data: Buffer.from("x"), language: "YAML" };
    const def = marshal(appLayer({ platform, workdir: "/app", copy: paths("a", "b"), context }), { sourceInfo: info });
    const digest = resultOp(def).digest;
    expect(metadataOf(def, digest)!.description).toEqual([{ key: "llb.customname", value: "[app] copy a b to /app" }]);
    expect(def.Source!.locations![digest]!.locations[0]!.ranges.map((r) => r.start.line)).toEqual([10, 11]);
  });
});

describe("appLayer onto the image below (layers stacked by copies)", () => {
  it("writes the workdir and the copies in one file op whose base is the given image", () => {
    const below = State.image("localhost:5000/base", platform);
    const def = marshal(appLayer({ platform, workdir: "/app", copy: paths("main.py"), context: State.local("context"), onto: below }));
    const { op } = resultOp(def);
    const baseDigest = resultOp(marshal(below)).digest;
    // Input 0 is the image below, and the first action works on it (not on scratch).
    expect(op.inputs![0]!.digest).toBe(baseDigest);
    expect(op.file!.actions[0]!.input ?? 0).toBe(0); // decoded protobuf leaves a zero out
    expect(op.file!.actions[0]!.mkdir).toMatchObject({ path: "/app" });
    expect(op.file!.actions[1]!.copy).toMatchObject({ src: "/main.py", dest: "/app/main.py" });
    expect(decodeOps(def).filter((o) => o.op.file)).toHaveLength(1);
  });

  it("refuses from: entries, which make more than one op (each a layer there)", () => {
    const entries = [{ value: "logo.png", range: lineRange(3), from: "assets" }];
    expect(() => appLayer({ platform, workdir: "/app", copy: entries, context: State.local("context"), named: { assets: State.local("assets") }, onto: State.scratch() })).toThrow(/from: entries/);
  });
});

describe("contextIncludes", () => {
  it("sends only the listed paths", () => {
    expect(contextIncludes(paths("src", "main.py"))).toEqual(["src", "main.py"]);
    expect(contextIncludes([])).toEqual([]);
  });

  it("sends everything when '.' is listed", () => {
    expect(contextIncludes(paths("src", "."))).toBeUndefined();
  });
});

describe("appLayer with named contexts", () => {
  const entries = [
    { value: "web", range: lineRange(10) },
    { value: "static", from: "assets", dest: "public", range: lineRange(11) },
    { value: ".", from: "assets", dest: "all", range: lineRange(12) },
  ];

  it("copies each named context's entries in a step of its own, named after the context", () => {
    const named = { assets: State.local("assets") };
    const def = marshal(appLayer({ platform, workdir: "/app", copy: entries, context: State.local("context"), named }));
    const top = resultOp(def);
    expect(top.op.file!.actions.map((a) => [a.copy!.src, a.copy!.dest])).toEqual([
      ["/static", "/app/public"],
      ["/", "/app/all"],
    ]);
    expect(metadataOf(def, top.digest)!.description).toEqual([{ key: "llb.customname", value: "[app] copy from build context assets: assets:/static -> public, assets:/ -> all to /app" }]);
    // The first step holds the workdir and the build context's own entries, as without named contexts.
    const ops = decodeOps(def);
    const own = ops.find((o) => o.op.file?.actions.some((a) => a.copy?.src === "/web"));
    expect(own!.op.file!.actions.map((a) => (a.copy ? a.copy.dest : a.mkdir!.path))).toEqual(["/app", "/app/web"]);
  });

  it("fails loudly when the plan lacks a context an entry reads", () => {
    expect(() => appLayer({ platform, workdir: "/app", copy: entries, context: State.local("context") })).toThrow(/build context "assets"/);
  });

  it("sends only what is copied from a named folder", () => {
    expect(contextIncludes(entries.filter((e) => e.from === "assets"))).toBeUndefined();
    expect(contextIncludes(entries.slice(1, 2))).toEqual(["static"]);
  });
});
