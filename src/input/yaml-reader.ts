// Typed reading of a YAML document that remembers where every value came from and collects
// every problem (with its line) instead of stopping at the first.
import { isAlias, isMap, isPair, isScalar, isSeq, type Node, type Pair, parseDocument, type Scalar, type YAMLMap } from "yaml";
import { type Problem, show, SpecError } from "./errors";
import { type Located, lineRange, rangeOf, type SourceFile, type SourceRange } from "./source";
import { parseYamlSubset } from "./yaml-subset";

export class YamlReader {
  readonly problems: Problem[] = [];

  constructor(readonly file: SourceFile) {}

  range(node: Node | null | undefined): SourceRange {
    const r = node?.range;
    return r ? rangeOf(this.file, r[0], r[1]) : lineRange(1);
  }

  fail(node: Node | null | undefined, message: string): undefined {
    this.problems.push({ message, range: this.range(node) });
    return undefined;
  }

  /** The document's root mapping, or undefined after recording why not. */
  root(): YAMLMap | undefined {
    // The fast reader covers the block subset lock files are written in; anything else (and
    // every error message) is the full parser's.
    const fast = parseYamlSubset(this.file.text);
    const contents = fast === undefined ? this.parseFully() : fast;
    if (contents === null || contents === undefined) return undefined;
    if (!isMap(contents)) return this.fail(contents, `expected a mapping at the top (name:, channels:, dependencies:), got ${got(contents)}`);
    return contents;
  }

  /** The document's contents by the yaml library, or undefined after recording its errors. */
  private parseFully(): Node | null | undefined {
    const doc = parseDocument(this.file.text, { prettyErrors: false, uniqueKeys: true, strict: true });
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const at = rangeOf(this.file, e.pos[0], e.pos[1]);
        this.problems.push({ message: `invalid YAML: ${e.message.split("\n")[0]}`, range: at });
      }
      return undefined;
    }
    return doc.contents;
  }

  /** Pairs of a mapping with string keys; a non-string key is a problem. */
  entries(map: YAMLMap, where: string): { key: string; keyNode: Node; value: Node | null; pair: Pair }[] {
    const out = [];
    for (const pair of map.items) {
      const keyNode = pair.key as Node;
      if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
        this.fail(keyNode, `${where}: keys must be strings, got ${isScalar(keyNode) ? show(keyNode.value) : got(keyNode)}`);
        continue;
      }
      out.push({ key: keyNode.value, keyNode, value: (pair.value as Node | null) ?? null, pair });
    }
    return out;
  }

  mapping(node: Node | null, where: string): YAMLMap | undefined {
    if (node === null) return undefined;
    if (!isMap(node)) return this.fail(node, `${where}: expected a mapping, got ${got(node)}`);
    return node;
  }

  sequence(node: Node | null, where: string): Node[] | undefined {
    if (node === null) return [];
    if (!isSeq(node)) return this.fail(node, `${where}: expected a list, got ${got(node)}`);
    return node.items as Node[];
  }

  /** A string; numbers and booleans are accepted only when `coerce` (env values, labels). */
  string(node: Node | null, where: string, coerce = false): Located<string> | undefined {
    if (node === null || !isScalar(node) || node.value === null) {
      return this.fail(node, `${where}: expected a string, got ${got(node)}`);
    }
    const v = (node as Scalar).value;
    if (typeof v === "string") return { value: v, range: this.range(node) };
    if (coerce && (typeof v === "number" || typeof v === "boolean")) return { value: String((node as Scalar).source ?? v), range: this.range(node) };
    return this.fail(node, `${where}: expected a string, got ${show(v)}`);
  }

  boolean(node: Node | null, where: string): Located<boolean> | undefined {
    if (node !== null && isScalar(node) && typeof node.value === "boolean") return { value: node.value, range: this.range(node) };
    return this.fail(node, `${where}: expected true or false, got ${got(node)}`);
  }

  integer(node: Node | null, where: string, min = 0): Located<number> | undefined {
    if (node !== null && isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value) && node.value >= min) {
      return { value: node.value, range: this.range(node) };
    }
    return this.fail(node, `${where}: expected a whole number >= ${min}, got ${got(node)}`);
  }

  oneOf<T extends string>(node: Node | null, where: string, allowed: readonly T[]): Located<T> | undefined {
    const s = this.string(node, where);
    if (!s) return undefined;
    if ((allowed as readonly string[]).includes(s.value)) return s as Located<T>;
    return this.fail(node, `${where}: expected one of ${allowed.join(", ")}, got ${show(s.value)}`);
  }

  stringList(node: Node | null, where: string, coerce = false): Located<string>[] {
    const items = this.sequence(node, where) ?? [];
    return items.flatMap((item, i) => this.string(item, `${where}[${i}]`, coerce) ?? []);
  }

  /** A string->string mapping, in file order. */
  stringMap(node: Node | null, where: string): { key: Located<string>; value: Located<string> }[] {
    const map = this.mapping(node, where);
    if (!map) return [];
    return this.entries(map, where).flatMap(({ key, keyNode, value }) => {
      const v = this.string(value, `${where}.${key}`, true);
      return v ? [{ key: { value: key, range: this.range(keyNode) }, value: v }] : [];
    });
  }

  unknownKey(keyNode: Node, where: string, key: string, known: readonly string[]): void {
    const close = known.find((k) => editDistance(k, key) <= 2);
    this.fail(keyNode, `${where}: unknown key ${show(key)}${close ? ` (did you mean ${show(close)}?)` : ""}; known keys: ${known.join(", ")}`);
  }

  throwIfProblems(): void {
    if (this.problems.length) throw new SpecError(this.file, this.problems);
  }
}

/**
 * A node's value as a message shows it. Aliases are shown as written (`*a`), never resolved:
 * resolving one fails when its anchor comes later and grows exponentially in a "billion laughs"
 * document, and this reader does not resolve them anyway.
 */
export function got(node: unknown): string {
  if (node === null || node === undefined) return "nothing";
  if (isAlias(node)) return `the alias *${node.source} (aliases are not supported here; write the value out)`;
  return show(plain(node));
}

function plain(node: unknown): unknown {
  if (isAlias(node)) return `*${node.source}`;
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map(plain);
  if (isMap(node)) return Object.fromEntries(node.items.map((p) => [keyText(p.key), plain(p.value)]));
  if (isPair(node)) return Object.fromEntries([[keyText(node.key), plain(node.value)]]);
  return node ?? null;
}

function keyText(key: unknown): string {
  if (key === null || key === undefined) return "";
  if (isScalar(key)) return String(key.value ?? "");
  return show(plain(key));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
