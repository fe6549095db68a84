// readTomlRoot(): TOML into yaml nodes whose ranges are TOML offsets, so YamlReader's checks
// (and the image section's) report TOML lines.
import { describe, expect, it } from "vitest";
import { isMap, isSeq, type Node, type YAMLMap } from "yaml";
import { SpecError } from "../../src/input/errors";
import { readImageSection } from "../../src/input/image-section";
import { sourceFile } from "../../src/input/source";
import { maxTomlDepth, readTomlRoot } from "../../src/input/toml-reader";
import { YamlReader } from "../../src/input/yaml-reader";

function read(text: string, name = "pixi.toml"): { r: YamlReader; root: YAMLMap | undefined } {
  const r = new YamlReader(sourceFile(name, text));
  return { r, root: readTomlRoot(r) };
}

const line = (r: YamlReader, node: unknown) => r.range(node as Node).start.line;

describe("readTomlRoot", () => {
  it("turns tables, dotted keys, inline tables and arrays into maps and lists with their lines", () => {
    const text = `# syntax=docker.io/example/conda-frontend
[workspace]
name = "demo"
channels = ["http://127.0.0.1:8765", "conda-forge"]

[dependencies]
python = "3.12.*"
numpy = { version = ">=1.26", channel = "conda-forge" }

[feature.test.dependencies]
pytest = "*"

[[tool.list]]
a = 1
[[tool.list]]
a = 2.50
site.key = true
`;
    const { r, root } = read(text);
    expect(r.problems).toEqual([]);
    expect(root!.toJSON()).toEqual({
      workspace: { name: "demo", channels: ["http://127.0.0.1:8765", "conda-forge"] },
      dependencies: { python: "3.12.*", numpy: { version: ">=1.26", channel: "conda-forge" } },
      feature: { test: { dependencies: { pytest: "*" } } },
      tool: { list: [{ a: 1 }, { a: 2.5, site: { key: true } }] },
    });
    const ws = root!.get("workspace", true) as unknown as YAMLMap;
    expect(line(r, ws)).toBe(2);
    expect(line(r, ws.get("name", true))).toBe(3);
    const channels = ws.get("channels", true);
    expect(isSeq(channels) && channels.items.map((c) => line(r, c))).toEqual([4, 4]);
    const deps = root!.get("dependencies", true) as unknown as YAMLMap;
    expect(line(r, deps.get("numpy", true))).toBe(8);
    expect(line(r, deps.items[1]!.key)).toBe(8);
    const feature = root!.get("feature", true) as unknown as YAMLMap;
    // An implied table lives where its first header is.
    expect(line(r, feature)).toBe(10);
    expect(line(r, feature.items[0]!.key)).toBe(10);
  });

  it("keeps numbers as written for coercion (4.18 stays 4.18, 12.0 stays 12.0)", () => {
    const { r, root } = read(`linux = 4.18\ncuda = 12.0\n`);
    expect(r.string(root!.get("linux", true) as Node, "linux", true)?.value).toBe("4.18");
    expect(r.string(root!.get("cuda", true) as Node, "cuda", true)?.value).toBe("12.0");
    expect(r.string(root!.get("cuda", true) as Node, "cuda")).toBeUndefined();
    expect(r.problems[0]!.message).toBe("cuda: expected a string, got 12");
  });

  it("reads TOML 1.1 multi-line inline tables", () => {
    const { r, root } = read(`[dependencies]\npython = {\n  version = ">=3.12",\n  channel = "conda-forge",\n}\n`);
    expect(r.problems).toEqual([]);
    expect(root!.toJSON()).toEqual({ dependencies: { python: { version: ">=3.12", channel: "conda-forge" } } });
  });

  it("reports a syntax error at its line", () => {
    const { r, root } = read(`[workspace]\nname = "demo\n`);
    expect(root).toBeUndefined();
    expect(() => r.throwIfProblems()).toThrow(SpecError);
    expect(() => r.throwIfProblems()).toThrow(/^pixi\.toml:2: invalid TOML: /);
  });

  it("reports a key defined twice and a table redefined", () => {
    for (const text of [`a = 1\na = 2\n`, `[x]\na = 1\n[x]\nb = 2\n`, `a = 1\n[a]\nb = 2\n`]) {
      const { r, root } = read(text);
      expect(root).toBeUndefined();
      expect(r.problems[0]!.message).toMatch(/^invalid TOML: .*multiple times/);
      expect(r.problems[0]!.range!.start.line).toBeGreaterThan(1);
    }
  });

  it("reads an empty file as an empty table", () => {
    const { r, root } = read("# nothing\n");
    expect(r.problems).toEqual([]);
    expect(isMap(root) && root.items.length).toBe(0);
  });

  it("refuses nesting deeper than the limit", () => {
    const deep = "x = " + "[".repeat(maxTomlDepth + 5) + "]".repeat(maxTomlDepth + 5) + "\n";
    const { r, root } = read(deep);
    expect(root).toBeUndefined();
    expect(r.problems[0]!.message).toMatch(/invalid TOML: nested/);
    const dotted = "[" + Array.from({ length: maxTomlDepth + 2 }, (_, i) => `k${i}`).join(".") + "]\n";
    expect(read(dotted).root).toBeUndefined();
  });

  it("lets the image section's checks report TOML lines", () => {
    const { r, root } = read(`[image]\nbase = "python:3.12-slim"\nports = [8080, "99999"]\nuser = "a b"\nbogus = 1\n`);
    const image = readImageSection(r, root!.get("image", true) as Node);
    expect(image.base?.value).toBe("python:3.12-slim");
    expect(image.base?.range.start.line).toBe(2);
    expect(image.ports.map((p) => p.value)).toEqual(["8080"]);
    expect(r.problems.map((p) => `${p.range?.start.line}: ${p.message}`)).toEqual([
      `3: image.ports: invalid port "99999"; expected e.g. 8080 or 53/udp`,
      `4: image.user: expected user, uid, user:group or uid:gid, got "a b"`,
      `5: image: unknown key "bogus"; known keys: base, prefix, entrypoint, cmd, workdir, user, env, ports, labels, healthcheck, stop-signal, app, lockfile, prune, platforms, virtual-packages, post-link, compile-pyc, private-channels`,
    ]);
  });
});
