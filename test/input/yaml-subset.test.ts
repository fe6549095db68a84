// The fast reader of lock-file YAML: for every text it accepts, the same nodes (class, range,
// value, type, source) as the yaml library's parseDocument; everything else is left to it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isMap, isScalar, isSeq, parseDocument } from "yaml";
import { type Lock, type LockedPackage, writeCondaLock } from "../../src/input/lock";
import { positionAt, sourceFile } from "../../src/input/source";
import { got, YamlReader } from "../../src/input/yaml-reader";
import { parseYamlSubset } from "../../src/input/yaml-subset";
import { condaLockWritten } from "../fixtures/conda-lock-written";
import { seededRandom } from "../fixtures/seeded-random";

const parseFully = (text: string) => parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true });

/** A node as the comparison sees it: its class, range, and a scalar's value, type and source. */
function shape(node: unknown): unknown {
  if (node === null || node === undefined) return node;
  if (isScalar(node)) return { class: "scalar", range: node.range, value: node.value, type: node.type, source: node.source, tag: node.tag, format: node.format };
  if (isMap(node)) return { class: "map", range: node.range, flow: node.flow ?? false, tag: node.tag, items: node.items.map((p) => [shape(p.key), shape(p.value)]) };
  if (isSeq(node)) return { class: "seq", range: node.range, flow: node.flow ?? false, tag: node.tag, items: node.items.map(shape) };
  return { class: "other", node };
}

const json = (node: unknown) => (node && typeof node === "object" && "toJSON" in node ? (node as { toJSON(): unknown }).toJSON() : node);

/** Whether the fast reader gave parseDocument's tree for `text`; undefined when it bailed. */
function differs(text: string): string | false | undefined {
  const fast = parseYamlSubset(text);
  if (fast === undefined) return undefined;
  const doc = parseFully(text);
  if (doc.errors.length) return `accepted, but parseDocument reports ${doc.errors.map((e) => e.message).join("; ")}`;
  const a = JSON.stringify(shape(fast));
  const b = JSON.stringify(shape(doc.contents));
  if (a !== b) return `fast ${a}\nfull ${b}`;
  if (JSON.stringify(json(fast)) !== JSON.stringify(json(doc.contents))) return "toJSON differs";
  return false;
}

function expectSame(text: string): void {
  const fast = parseYamlSubset(text);
  expect(fast, "the fast reader bailed").not.toBeUndefined();
  const doc = parseFully(text);
  expect(doc.errors).toEqual([]);
  expect(json(fast)).toEqual(json(doc.contents));
  expect(shape(fast)).toEqual(shape(doc.contents));
}

function generatedLock(count: number, seed = 1): Lock {
  const r = seededRandom(seed);
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(r() * 16)]).join("");
  const versions = ["1.2.13", "0.1", "1.0", "2024a", "3.12.1", "13.2.0", "10", "1.0.0rc1"];
  const constraints = [">=12", "2.17.*", "*", "<4,>=2", ">=3.4,<4.0a0", "3.12.* *_cp312", "1.0"];
  const names = Array.from({ length: count }, (_, i) => ["lib", "py", "_", "__"][i % 4] + `pkg-${i}` + (i % 3 ? "_x" : ""));
  const packages: LockedPackage[] = names.map((name, i) => {
    const version = versions[i % versions.length]!;
    const pip = i % 10 === 9;
    const filename = pip ? `${name}-${version}-py3-none-any.whl` : `${name}-${version}-h${hex(7)}_0.${i % 2 ? "conda" : "tar.bz2"}`;
    const deps = Object.fromEntries(Array.from({ length: i % 5 }, (_, j) => [names[(i * 7 + j) % count]!, constraints[(i + j) % constraints.length]!]));
    return {
      name,
      version,
      build: pip ? "" : filename.split("-").pop()!.split(".")[0]!,
      platform: i % 7 ? "linux-64" : "linux-aarch64",
      manager: pip ? "pip" : "conda",
      url: pip ? `https://files.pythonhosted.org/packages/ab/cd/${filename}` : `https://conda.anaconda.org/conda-forge/linux-64/${filename}`,
      filename,
      md5: i % 3 === 2 ? undefined : hex(32),
      sha256: i % 3 === 1 ? undefined : hex(64),
      dependencies: deps,
      category: "main",
      optional: i % 11 === 0,
    };
  });
  return {
    version: 1,
    platforms: ["linux-64", "linux-aarch64"],
    channels: ["https://conda.anaconda.org/conda-forge", "bioconda"],
    contentHash: { "linux-64": hex(64), "linux-aarch64": hex(64) },
    sources: ["environment.yml"],
    packages,
    ours: true,
  };
}

/** The YAML files committed with the project (environment files, pixi locks). */
function committedYaml(): { path: string; text: string }[] {
  const out = [];
  for (const dir of ["test", "examples"]) {
    for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
      if (!/\.(ya?ml|lock)$/.test(entry) || entry.includes("node_modules")) continue;
      const path = join(dir, entry);
      const text = readFileSync(path, "utf8");
      // pixi locks are YAML; other *.lock files may not be.
      if (path.endsWith(".lock") && !text.startsWith("version:")) continue;
      out.push({ path, text });
    }
  }
  return out;
}

describe("parseYamlSubset gives parseDocument's nodes", () => {
  it("for writeCondaLock's output of a 200-package lock with dependencies, both hashes and pip packages", () => {
    expectSame(writeCondaLock(generatedLock(200)));
  });

  it("for a lock as conda-lock writes it (lists at the key's column, '0.1' quoted, 1.2.13 plain)", () => {
    expectSame(condaLockWritten);
    const contents = parseYamlSubset(condaLockWritten) as never as { toJSON(): { package: { version: unknown }[] } };
    expect(contents.toJSON().package.map((p) => p.version)).toEqual(["0.1", "1.2.13", "3.12.1", "2.32.3"]);
  });

  it("for the committed YAML fixtures and examples, wherever it does not bail", () => {
    const files = committedYaml();
    expect(files.length).toBeGreaterThan(0);
    for (const { path, text } of files) expect(differs(text), path).toBeFalsy();
  });

  it("for small documents covering each construct of the subset", () => {
    const texts = [
      "",
      "# only a comment\n",
      "   \n\n",
      "a: 1\nb: -2\nc: +3\nd: 007\ne: 0\n",
      "n1: null\nn2: Null\nn3: NULL\nn4: ~\nn5:\nb1: true\nb2: True\nb3: TRUE\nb4: false\nb5: False\nb6: FALSE\ns: yes\n",
      "v: 1.2.13\nw: 2.17.*\nx: '>=12'\ny: \"0.1\"\nz: 'it''s'\ne1: ''\ne2: \"\"\n",
      "1: one\ntrue: yes\nnull: nothing\n'quoted key': v\n",
      "url: https://example.com/a#frag\nhash: a#b\nc: x # comment\nd: x   \ne: 'q'  # c\n",
      "d: {}\ne: []\nf: {}   # c\n",
      "key:\n- a\n- b: 1\n  c: 2\n- {}\nnext: 1\n",
      "key:\n  - a\n  - b\nnext:\n  inner:\n    deep: 1\n",
      "- a\n- b\n",
      "- a: 1\n  b:\n  - x\n  c: 2\n",
      "a: 1",
      "a:",
      "a:   ",
      "a:\n\n\nb:\n\n",
      "# head\n#\n\na: 1\n\n# between\nb:\n  - x\n# after list\nc: 2\n# tail\n",
      "a:\n  b: 1\n # less indented than b\nc: 2\n",
      "a:\n  - x\n  # at the list's column\n  - y\n",
      "k: b]\nl: d,e{f}\nm: -x\nn: a:b\n",
      "deps:\n  python_abi: 3.12.* *_cp312\n  __glibc: '>=2.17'\n",
    ];
    for (const text of texts) expect(differs(text), JSON.stringify(text)).toBe(false);
  });
});

const outside: Record<string, string> = {
    anchor: "a: &x 1\nb: *x\n",
    alias: "a: *x\n",
    tag: "a: !!str 1\n",
    "block scalar": "a: |\n  text\n",
    "folded scalar": "a: >\n  text\n",
    "multi-line plain scalar": "a: one\n  two\n",
    "multi-line quoted scalar": "a: 'one\n  two'\n",
    "flow mapping with content": "a: {b: 1}\n",
    "flow sequence with content": "a: [1, 2]\n",
    "tab in indentation": "a:\n\tb: 1\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate key by value": "1: a\n01: b\n",
    "float 1.0": "version: 1.0\n",
    "float 1e3": "a: 1e3\n",
    ".inf": "a: .inf\n",
    hex: "a: 0x1f\n",
    octal: "a: 0o17\n",
    "explicit key": "? key\n: value\n",
    "document start": "---\na: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    directive: "%YAML 1.2\n---\na: 1\n",
    "escape in double quotes": 'a: "x\\ty"\n',
    "CRLF line ends": "a: 1\r\nb: 2\r\n",
    "comment right after a key": "a: # c\n  b: 1\n",
    "comment indented under a value": "a: 1\n  # stretches a's range\nb: 2\n",
    "empty list item": "-\n- a\n",
    "compact nested list": "- - a\n",
    "top-level scalar": "just text\n",
    "key with other characters": "python>=3.8,<4: x\n",
    "key and value on one line twice": "a: b: c\n",
    "comment touching a quoted value": "a: 'x'#c\n",
    "comment touching {}": "a: {}#c\n",
    "key over 1024 characters": `${"k".repeat(1030)}: 1\n`,
    "deeply nested": Array.from({ length: 70 }, (_, i) => `${" ".repeat(i * 2)}k${i}:`).join("\n") + " 1\n",
};

describe("parseYamlSubset bails (undefined) outside the subset", () => {
  for (const [what, text] of Object.entries(outside)) {
    it(what, () => expect(parseYamlSubset(text)).toBeUndefined());
  }
});

describe("YamlReader.root with the fast reader", () => {
  const problems = (text: string) => {
    const r = new YamlReader(sourceFile("conda-lock.yml", text));
    const root = r.root();
    return { root, problems: r.problems.map((p) => `${p.range?.start.line}: ${p.message}`) };
  };

  it("still reports yaml's own error, with its line, for a duplicate key", () => {
    expect(problems("version: 1\npackage: []\nversion: 2\n")).toEqual({ root: undefined, problems: ["3: invalid YAML: Map keys must be unique"] });
  });

  it("reports what it reported before the fast reader, for every text outside the subset", () => {
    // The root() of before: parseDocument alone.
    const before = (text: string) => {
      const file = sourceFile("conda-lock.yml", text);
      const doc = parseFully(text);
      const lines = doc.errors.map((e) => `${positionAt(file, e.pos[0]).line}: invalid YAML: ${e.message.split("\n")[0]}`);
      if (lines.length || doc.contents === null || isMap(doc.contents)) return lines;
      return [`1: expected a mapping at the top (name:, channels:, dependencies:), got ${got(doc.contents)}`];
    };
    for (const text of Object.values(outside)) expect(problems(text).problems, JSON.stringify(text)).toEqual(before(text));
  });

  it("still reports yaml's errors for text outside the subset", () => {
    expect(problems("a: 1\n\tb: 2\n").problems[0]).toMatch(/^2: invalid YAML: /);
    expect(problems("a: [1,\n").problems[0]).toMatch(/invalid YAML: /);
  });

  it("still requires a mapping at the top, for the fast reader's result too", () => {
    expect(problems("- a\n- b\n")).toEqual({ root: undefined, problems: ['1: expected a mapping at the top (name:, channels:, dependencies:), got ["a", "b"]'] });
    expect(problems("# nothing\n")).toEqual({ root: undefined, problems: [] });
  });

  it("returns the fast reader's mapping for a lock", () => {
    const text = writeCondaLock(generatedLock(5));
    const { root, problems: found } = problems(text);
    expect(found).toEqual([]);
    expect(root?.toJSON()).toEqual(parseFully(text).toJSON());
  });
});

/** Random texts from the subset's grammar, with some of yaml's other syntax mixed in. */
function generated(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const keys = ["a", "name", "python_abi", "libgcc-ng", "__glibc", "linux-64", "x.y", "k/v", "1", "01", "true", "null", "Null", "'q k'", "'it''s'", "b", "c", "d", "e", "f", "g", "h"];
  const scalars = [
    "x", "1", "-1", "+2", "0", "007", "1.2.13", "null", "Null", "~", "true", "False", "TRUE", "yes", "'q'", "'it''s'", "''", '"d"', '""',
    "{}", "[]", "http://x/y#z", "a#b", "2.17.*", "-x", "a:b", "é", "x,y", "b]", "a  b", "...", "--- x", "'>=12'", '"*"', "x\u00a0", "~x", "<x", "=",
  ];
  // Mostly the subset, sometimes the syntax around it.
  const others = ["1.0", "1e3", ".inf", "0x1f", "0o7", '"a\\b"', "{ }", "[a]", ">=12", "*", "-", "&a x", "*a", "!t x", "|", ">", "%x", "@x", "?x", ":x", ",x", "'open", '"open'];
  const scalar = () => (r() < 0.9 ? pick(scalars) : pick(others));
  const lines: string[] = [];
  const comment = (indent: number) => {
    if (r() < 0.12) lines.push(" ".repeat(Math.max(0, indent + Math.floor(r() * 5) - 2)) + "# c");
    if (r() < 0.08) lines.push(r() < 0.7 ? "" : " ".repeat(Math.floor(r() * 6)));
  };
  const tail = () => (r() < 0.15 ? " # t" : r() < 0.1 ? "  " : "");
  // `head` is what starts the node's first line (a key's `k:` or a list item's `- `).
  const node = (indent: number, depth: number, head: string, inSeqItem: boolean): void => {
    const kind = depth > 3 || r() < 0.45 ? "scalar" : r() < 0.5 ? "map" : "seq";
    if (kind === "scalar" || (r() < 0.05 && !inSeqItem)) {
      const empty = !inSeqItem && r() < 0.1;
      lines.push(empty ? head.trimEnd() + (r() < 0.2 ? " " : "") : `${head}${head.endsWith(" ") ? "" : " "}${scalar()}${tail()}`);
      return;
    }
    const count = 1 + Math.floor(r() * 3);
    if (kind === "map") {
      // In a list item the mapping starts on the dash's line; under a key, on the next lines.
      const col = inSeqItem ? indent : indent + pick([2, 2, 2, 1, 4]);
      if (!inSeqItem) lines.push(head.trimEnd() + tail());
      for (let i = 0; i < count; i++) {
        const keyHead = (i === 0 && inSeqItem ? head : " ".repeat(col)) + `${pick(keys)}:`;
        node(col, depth + 1, keyHead, false);
        comment(col);
      }
      return;
    }
    // A list under a key sits at the key's column or deeper; a list in a list item is compact.
    const col = inSeqItem ? indent : indent + pick([0, 2, 2, 1]);
    if (!inSeqItem) lines.push(head.trimEnd() + tail());
    for (let i = 0; i < count; i++) {
      const dash = (i === 0 && inSeqItem ? head : " ".repeat(col)) + "- ";
      node(col + 2, depth + 1, dash, true);
      comment(col);
    }
  };
  if (r() < 0.3) lines.push("# header");
  const top = 1 + Math.floor(r() * 4);
  if (r() < 0.1) node(0, 1, "", true);
  else for (let i = 0; i < top; i++) node(0, 1, `${pick(keys)}:`, false);
  return lines.join("\n") + (r() < 0.8 ? "\n" : "");
}

function mutated(text: string, r: () => number): string {
  const pool = [":", "-", " ", " ", "#", "'", '"', "\n", "{", "}", "[", "]", "a", "1", ".", "\t", "&", "*", "!", "|", ">", "?", ",", "\\", "  "];
  let t = text;
  const n = Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const op = r();
    if (op < 0.4) t = t.slice(0, at) + pool[Math.floor(r() * pool.length)] + t.slice(at);
    else if (op < 0.7) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 2));
    else {
      const lines = t.split("\n");
      const k = Math.floor(r() * lines.length);
      const line = lines[k]!;
      const spaces = " ".repeat(Math.floor(r() * 5));
      const edits = [
        () => lines.splice(k, 0, line), // a repeated line (often a duplicate key)
        () => lines.splice(k, 0, `${spaces}# c`),
        () => lines.splice(k, 0, spaces),
        () => (lines[k] = spaces + line.trimStart()), // indented differently
      ];
      edits[Math.floor(r() * edits.length)]!();
      t = lines.join("\n");
    }
  }
  return t;
}

describe("parseYamlSubset on random texts", () => {
  it("either bails or gives parseDocument's nodes, on 3000 seeded cases", () => {
    const r = seededRandom(20240607);
    let accepted = 0;
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const base = generated(r);
      const text = r() < 0.5 ? mutated(base, r) : base;
      const diff = differs(text);
      if (diff === undefined) continue;
      accepted++;
      if (diff) failures.push(`${JSON.stringify(text)}\n${diff}`);
    }
    expect(failures.slice(0, 3)).toEqual([]);
    // The cases must exercise the reader, not only its bail-outs.
    expect(accepted).toBeGreaterThan(600);
  });
});
