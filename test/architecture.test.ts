// The tree's rules, checked on the sources: data flows one way between folders (no folder imports
// one that imports it back), and the code that runs inside build steps (src/build-step) is apart
// from the code of the frontend process: only cli.ts, which dispatches to both, loads it.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const src = resolve(__dirname, "../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

/** The top folder under src of a file ("cli.ts" for files at the top). */
const folderOf = (file: string) => relative(src, file).split("/")[0]!;

/** Folder -> folders it imports (relative imports only; packages are not folders of ours). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sources(src)) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? graph.set(from, new Set()).get(from)!;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const to = folderOf(resolve(dirname(file), m[1]!));
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    if (state.get(n) === "done") return undefined;
    state.set(n, "open");
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const cycle = visit(m);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of graph.keys()) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Files read as data by path (`new URL("../x", import.meta.url)`), with the folder that reads them. */
function dataReads(): { from: string; file: string }[] {
  return sources(src).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/new URL\(\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => ({ from: folderOf(file), file: relative(src, resolve(dirname(file), m[1]!)) })),
  );
}

describe("the tree", () => {
  const graph = folderGraph();

  it("finds the folders it checks (the scan sees the imports)", () => {
    expect([...graph.keys()].sort()).toEqual(expect.arrayContaining(["build-step", "conda", "frontend", "gateway", "input", "llb", "plan", "proto", "stages"]));
    expect([...graph.get("frontend")!]).toContain("gateway");
  });

  it("has no import cycle between folders", () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it("detects a cycle when there is one (the check itself works)", () => {
    const g = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]);
    expect(findCycle(g)).toEqual(["a", "b", "c", "a"]);
  });

  it("keeps build-step code out of the frontend process: only cli.ts imports src/build-step", () => {
    const importers = [...graph].filter(([, to]) => to.has("build-step")).map(([from]) => from);
    expect(importers).toEqual(["cli.ts"]);
  });

  it("lets the frontend's code read only the text of a build step's Python program from src/build-step (to pass it into the step), nothing else", () => {
    const reads = dataReads().filter((r) => r.from !== "build-step" && r.file.startsWith("build-step/"));
    expect(reads.map((r) => r.file).sort()).toEqual(["build-step/python/foreign_pip.py", "build-step/python/pip_step.py"]);
    expect(reads.every((r) => r.file.startsWith("build-step/python/") && r.file.endsWith(".py"))).toBe(true);
  });

  it("lets build-step code use only the shared conda and input modules", () => {
    expect([...graph.get("build-step")!].sort()).toEqual(["conda", "input"]);
  });

  it("keeps the pure layers off the gateway: input, plan, conda and llb never import it", () => {
    for (const f of ["input", "plan", "conda", "llb", "stages"]) expect([...(graph.get(f) ?? [])], f).not.toContain("gateway");
  });
});
