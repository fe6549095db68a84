// TOML files (pixi.toml, pyproject.toml) read into the `yaml` library's node classes, each node's
// `range` being its offsets in the TOML text. YamlReader and everything built on it (the image
// section's checks among them) then read a TOML table as they read a YAML mapping, and every
// problem names the TOML line.
import { type AST, ParseError, parseTOML } from "toml-eslint-parser";
import { type Node, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { rangeOf } from "./source";
import type { YamlReader } from "./yaml-reader";

/** Deeper than this is no manifest anyone writes; the limit keeps recursion bounded. */
export const maxTomlDepth = 64;

class TooDeep extends Error {}

/**
 * The document's root table as a YAMLMap, or undefined after recording why not (a syntax error
 * at its line, "invalid TOML: ..."). An empty file is an empty map.
 */
export function readTomlRoot(r: YamlReader): YAMLMap | undefined {
  const text = r.file.text;
  let program: AST.TOMLProgram;
  try {
    // TOML 1.1: pixi reads it (multi-line inline tables with trailing commas).
    program = parseTOML(text, { tomlVersion: "1.1" });
  } catch (e) {
    if (e instanceof ParseError) {
      r.problems.push({ message: `invalid TOML: ${e.message}`, range: rangeOf(r.file, e.index, e.index) });
      return undefined;
    }
    if (e instanceof RangeError) {
      r.problems.push({ message: "invalid TOML: nested too deeply" });
      return undefined;
    }
    throw e;
  }
  try {
    return new TomlConverter(text).root(program.body[0]);
  } catch (e) {
    if (!(e instanceof TooDeep)) throw e;
    r.problems.push({ message: `invalid TOML: nested more than ${maxTomlDepth} levels deep`, range: rangeOf(r.file, Number(e.message), Number(e.message)) });
    return undefined;
  }
}

/** Sets a node's range the way `yaml` keeps it: [start, value end, node end]. */
function at<T extends Node>(node: T, range: readonly [number, number]): T {
  node.range = [range[0], range[1], range[1]];
  return node;
}

class TomlConverter {
  constructor(private readonly text: string) {}

  root(top: AST.TOMLTopLevelTable): YAMLMap {
    const root = at(new YAMLMap(), [0, this.text.length]);
    for (const item of top.body) {
      if (item.type === "TOMLKeyValue") {
        this.keyValue(root, item, 1);
        continue;
      }
      // [a.b.c] or [[a.b.c]]: walk to the parent map, creating the tables the header implies.
      const keys = item.key.keys;
      let map = root;
      for (let i = 0; i < keys.length - 1; i++) map = this.child(map, keys[i]!, i + 1, item.range);
      const last = keys[keys.length - 1]!;
      const depth = keys.length;
      if (depth > maxTomlDepth) throw new TooDeep(String(item.range[0]));
      let table: YAMLMap;
      if (item.kind === "array") {
        let seq = map.get(keyName(last), true) as unknown;
        if (!(seq instanceof YAMLSeq)) {
          seq = at(new YAMLSeq(), item.range);
          map.items.push(new Pair(this.key(last), seq));
        }
        table = at(new YAMLMap(), item.range);
        (seq as YAMLSeq).items.push(table);
        // The sequence spans from its first [[header]] to the end of its last table.
        (seq as YAMLSeq).range![1] = (seq as YAMLSeq).range![2] = item.range[1];
      } else {
        const existing = map.get(keyName(last), true) as unknown;
        if (existing instanceof YAMLMap) {
          // Created implicitly by an earlier [a.b.c]; now defined here: it starts here.
          table = existing;
          table.range = [item.range[0], item.range[1], item.range[1]];
        } else {
          table = at(new YAMLMap(), item.range);
          map.items.push(new Pair(this.key(last), table));
        }
      }
      for (const kv of item.body) this.keyValue(table, kv, depth + 1);
    }
    return root;
  }

  /** The table `key` in `map`, created (spanning `range`) when it is not there yet. */
  private child(map: YAMLMap, key: AST.TOMLBare | AST.TOMLQuoted, depth: number, range: readonly [number, number]): YAMLMap {
    if (depth > maxTomlDepth) throw new TooDeep(String(range[0]));
    const existing = map.get(keyName(key), true) as unknown;
    if (existing instanceof YAMLMap) return existing;
    // [[a]] then [a.b]: b belongs to the last table of the array a.
    if (existing instanceof YAMLSeq && existing.items.length) return existing.items[existing.items.length - 1] as YAMLMap;
    const created = at(new YAMLMap(), range);
    map.items.push(new Pair(this.key(key), created));
    return created;
  }

  /** `a.b.c = value` inside `map`. */
  private keyValue(map: YAMLMap, kv: AST.TOMLKeyValue, depth: number): void {
    const keys = kv.key.keys;
    let target = map;
    for (let i = 0; i < keys.length - 1; i++) target = this.child(target, keys[i]!, depth + i, kv.range);
    target.items.push(new Pair(this.key(keys[keys.length - 1]!), this.value(kv.value, depth + keys.length)));
  }

  private key(key: AST.TOMLBare | AST.TOMLQuoted): Scalar {
    return at(new Scalar(keyName(key)), key.range);
  }

  private value(node: AST.TOMLContentNode, depth: number): Node {
    if (depth > maxTomlDepth) throw new TooDeep(String(node.range[0]));
    switch (node.type) {
      case "TOMLArray": {
        const seq = at(new YAMLSeq(), node.range);
        for (const e of node.elements) seq.items.push(this.value(e, depth + 1));
        return seq;
      }
      case "TOMLInlineTable": {
        const map = at(new YAMLMap(), node.range);
        for (const kv of node.body) this.keyValue(map, kv, depth + 1);
        return map;
      }
      case "TOMLValue":
        return this.scalar(node);
    }
  }

  private scalar(node: AST.TOMLValue): Scalar {
    const written = this.text.slice(node.range[0], node.range[1]);
    let value: unknown;
    switch (node.kind) {
      case "string":
      case "boolean":
        value = node.value;
        break;
      case "integer":
      case "float":
        // Beyond 2^53 an integer is a bigint; as written is all a message or a string needs.
        value = typeof node.value === "bigint" ? written : node.value;
        break;
      default:
        // Dates and times: no key here takes one; kept as written.
        value = written;
    }
    const scalar = at(new Scalar(value), node.range);
    // YamlReader.string(..., coerce) shows numbers as written: 4.18, not 4.18 re-printed.
    if (node.kind !== "string") scalar.source = written;
    return scalar;
  }
}

function keyName(key: AST.TOMLBare | AST.TOMLQuoted): string {
  return key.type === "TOMLBare" ? key.name : key.value;
}
