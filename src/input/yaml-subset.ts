// A fast reader for the strict block-YAML subset that conda-lock.yml files are written in (by
// conda-lock, and by writeCondaLock through yaml-writer.ts). Every rebuild reads the lock, and the
// yaml library's parseDocument spends 30-40 ms on a 150-package lock (~90 ms in a fresh process)
// in general machinery this subset never needs; this takes ~3 ms (~16 ms fresh). It builds the
// yaml library's own node classes with the values, types, sources and ranges parseDocument gives
// them, so every reader works on either result unchanged.
// Anything outside the subset gives undefined, never a guess: the caller then runs parseDocument,
// which also produces every error message (this reader reports none).
import { type Node, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";

type Range = [number, number, number];

/** Thrown inside the reader when the text leaves the subset; caught in parseYamlSubset. */
class OutsideSubset {}
const outside = new OutsideSubset();

/**
 * The document's contents as parseDocument(text, { strict: true, uniqueKeys: true }) would give
 * them: a node, null for a document of only comments and blank lines, or undefined when the text
 * is not in the subset (parseDocument must read it).
 */
export function parseYamlSubset(text: string): Node | null | undefined {
  // Tabs, CRs, control characters, a BOM and Unicode line breaks each have rules of their own.
  if (/[\0-\x09\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029]/.test(text)) return undefined;
  try {
    return new SubsetReader(text).document();
  } catch (e) {
    if (e === outside) return undefined;
    throw e;
  }
}

/** Nesting deeper than this is left to the full parser (it bounds this reader's recursion). */
const maxDepth = 64;
/** YAML (strict) rejects an implicit key whose `:` is more than 1024 characters after its start. */
const maxKeyLength = 1000;

/** Plain scalars the core schema reads as null, a boolean, or a decimal integer. */
const nullWord = /^(?:~|[Nn]ull|NULL)?$/;
const boolWord = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const decimalInt = /^[-+]?[0-9]+$/;
/** Every other number of the core schema (octal, hex, .inf/.nan, floats): left to the full parser. */
const otherNumber = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/;
/**
 * A plain key is a name such as python_abi, libgcc-ng, __glibc, linux-64 or org.label.title:
 * [A-Za-z0-9_] then [A-Za-z0-9_.-/]. A table by character code: every key goes through it.
 */
const keyChar = new Uint8Array(128);
const keyFirstOnly = 1;
const keyAny = 2;
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") keyChar[c.charCodeAt(0)] = keyFirstOnly | keyAny;
for (const c of ".-/") keyChar[c.charCodeAt(0)] = keyAny;
/** What a plain value may not start with (YAML's indicators); `-` is handled on its own. */
const indicators = "?:,[]{}#&*!|>'\"%@`";

/** A scalar the way the yaml composer builds one: source is the text before typing. */
function scalar(value: unknown, source: string, type: Scalar.Type, range: Range): Scalar {
  const node = new Scalar(value);
  node.range = range;
  node.source = source;
  node.type = type;
  return node;
}

/** A plain scalar typed by the YAML 1.2 core schema; other numbers leave the subset. */
function plainScalar(source: string, range: Range): Scalar {
  if (nullWord.test(source)) return scalar(null, source, Scalar.PLAIN, range);
  if (boolWord.test(source)) return scalar(source[0] === "t" || source[0] === "T", source, Scalar.PLAIN, range);
  if (decimalInt.test(source)) return scalar(parseInt(source, 10), source, Scalar.PLAIN, range);
  if (otherNumber.test(source)) throw outside;
  return scalar(source, source, Scalar.PLAIN, range);
}

/**
 * Reads line by line, forwards only. Between content lines it skips blank and comment lines,
 * remembering how far the deepest comment was indented: where the yaml library files a comment
 * line decides the ranges around it, and only the placements that leave ranges alone are kept.
 */
class SubsetReader {
  /** Start of the current line: a content line after skipTrivia, or text.length at the end. */
  private pos = 0;
  /** Where the current line ends (its newline, or the end of the text). */
  private lineEnd = 0;
  /** The current content line's indentation. */
  private indent = 0;
  /** The deepest indentation of a comment line since the last content line; -1 when none. */
  private comment = -1;

  constructor(private readonly text: string) {}

  document(): Node | null {
    // Comments and blank lines before the first content line belong to the document.
    this.skipTrivia();
    this.comment = -1;
    if (this.atEnd) return null;
    if (this.indent !== 0) throw outside;
    const root = this.block(0, 1);
    if (!this.atEnd) throw outside;
    return root;
  }

  private get atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Moves to the next content line, past blank and comment lines. */
  private skipTrivia(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const nl = text.indexOf("\n", this.pos);
      const end = nl < 0 ? text.length : nl;
      let i = this.pos;
      while (i < end && text.charCodeAt(i) === 32) i++;
      if (i < end && text[i] !== "#") {
        this.lineEnd = end;
        this.indent = i - this.pos;
        return;
      }
      if (i < end) this.comment = Math.max(this.comment, i - this.pos);
      this.pos = Math.min(end + 1, text.length);
    }
  }

  /** Done with the current line: on to the next content line. */
  private nextLine(): void {
    this.pos = Math.min(this.lineEnd + 1, this.text.length);
    this.comment = -1;
    this.skipTrivia();
  }

  /** Where a node ending on the current line ends: after its newline, as yaml counts it. */
  private get lineNodeEnd(): number {
    return Math.min(this.lineEnd + 1, this.text.length);
  }

  /** The current line is a `- ` item of a sequence at column `col`. */
  private isSeqItemAt(col: number): boolean {
    if (this.atEnd || this.indent !== col) return false;
    const at = this.pos + col;
    return this.text[at] === "-" && (at + 1 === this.lineEnd || this.text[at + 1] === " ");
  }

  /**
   * The comment lines just skipped close a collection at column `col`: yaml moves them to the
   * parent only when they are indented less than the collection (or it is at column 0); else
   * they stretch the collection's range.
   */
  private closeAt(col: number): void {
    if (col > 0 && this.comment >= col) throw outside;
  }

  /** A block collection starting on the current line at column `col`. */
  private block(col: number, depth: number): YAMLMap | YAMLSeq {
    return this.isSeqItemAt(col) ? this.sequence(col, depth) : this.mapping(col, this.pos + col, depth);
  }

  private sequence(col: number, depth: number): YAMLSeq {
    if (depth > maxDepth) throw outside;
    const seq = new YAMLSeq();
    const start = this.pos + col;
    let end = start;
    do {
      // Exactly one space after the dash: an empty item or a wider gap has rules of its own.
      const at = this.pos + col + 2;
      if (at >= this.lineEnd || this.text[at] === " ") throw outside;
      const item = this.startsWithKey(at) ? this.mapping(col + 2, at, depth + 1) : this.inlineValue(at, col);
      seq.items.push(item);
      end = item.range![2];
      if (!this.atEnd && this.indent > col) throw outside;
    } while (this.isSeqItemAt(col));
    // The sequence ends at a shallower line, the end, or (a sequence under a key at its own
    // column) at the next key.
    this.closeAt(col);
    seq.range = [start, end, end];
    return seq;
  }

  /** A block mapping at column `col`, its first key at `first` (after `- ` in a list item). */
  private mapping(col: number, first: number, depth: number): YAMLMap {
    if (depth > maxDepth) throw outside;
    const map = new YAMLMap();
    const seen = new Set<unknown>();
    let at = first;
    let end = first;
    for (;;) {
      const key = this.key(at);
      // Equal keys are an error for the full parser to report (1 and 01 are equal, as are null and ~).
      if (seen.has(key.value)) throw outside;
      seen.add(key.value);
      const value = this.mapValue(key.range![1] + 1, col, depth);
      map.items.push(new Pair(key, value));
      end = value.range![2];
      if (this.atEnd || this.indent < col) break;
      if (this.indent > col || this.isSeqItemAt(col)) throw outside;
      at = this.pos + col;
    }
    this.closeAt(col);
    map.range = [first, end, end];
    return map;
  }

  /** True when `at` starts `key:` (a compact mapping in a list item), not a scalar. */
  private startsWithKey(at: number): boolean {
    const { text } = this;
    let end = at;
    if (text[at] === "'") {
      const close = this.singleQuoteEnd(at, false);
      if (close < 0) return false;
      end = close;
    } else {
      end = this.keyEnd(at);
      if (end === at) return false;
    }
    return text[end] === ":" && (end + 1 === this.lineEnd || text[end + 1] === " ");
  }

  /** Where the run of plain-key characters from `at` ends. */
  private keyEnd(at: number): number {
    let end = at;
    while (end < this.lineEnd && keyChar[this.text.charCodeAt(end)]! & keyAny) end++;
    return end;
  }

  /** A mapping key at `at` on the current line, followed by `:` and then a space or the line's end. */
  private key(at: number): Scalar {
    const { text } = this;
    let node: Scalar;
    if (text[at] === "'") {
      node = this.singleQuoted(at);
    } else {
      if (!(keyChar[text.charCodeAt(at)]! & keyFirstOnly)) throw outside;
      const end = this.keyEnd(at);
      node = plainScalar(text.slice(at, end), [at, end, end]);
    }
    const colon = node.range![1];
    if (colon - at > maxKeyLength || text[colon] !== ":") throw outside;
    if (colon + 1 < this.lineEnd && text[colon + 1] !== " ") throw outside;
    return node;
  }

  /** The value after a key's `:` at `from`: on the same line, on the lines below, or empty. */
  private mapValue(from: number, col: number, depth: number): Node {
    let at = from;
    while (at < this.lineEnd && this.text.charCodeAt(at) === 32) at++;
    if (at < this.lineEnd) return this.inlineValue(at, col);
    // yaml places an empty value after the colon and the spaces following it.
    const emptyAt = this.lineEnd;
    this.nextLine();
    // A comment between a key and its value is kept with the value, changing its range.
    if (this.comment >= 0) throw outside;
    if (!this.atEnd && this.indent > col) return this.block(this.indent, depth + 1);
    // `key:` followed by `- item` at the key's own column: the list is the key's value.
    if (this.isSeqItemAt(col)) return this.sequence(col, depth + 1);
    return scalar(null, "", Scalar.PLAIN, [emptyAt, emptyAt, emptyAt]);
  }

  /**
   * A one-line value at `at` (a scalar, `{}` or `[]`) in a collection at column `col`; consumes
   * the line. A comment line indented deeper than `col` below it would stretch its range.
   */
  private inlineValue(at: number, col: number): Node {
    const node = this.lineValue(at);
    this.nextLine();
    if (this.comment > col) throw outside;
    return node;
  }

  private lineValue(at: number): Scalar | YAMLMap | YAMLSeq {
    const c = this.text[at]!;
    if (c === "'") return this.afterQuoted(this.singleQuoted(at));
    if (c === '"') return this.afterQuoted(this.doubleQuoted(at));
    if (c === "{" || c === "[") return this.afterQuoted(this.emptyFlow(at));
    if (indicators.includes(c)) throw outside;
    // `- ` here would be a list on a key's line; a lone `-` a list item. `-x` and `-1` are plain.
    if (c === "-" && (at + 1 === this.lineEnd || this.text[at + 1] === " ")) throw outside;
    const end = this.plainEnd(at);
    return plainScalar(this.text.slice(at, end), [at, end, this.lineNodeEnd]);
  }

  /**
   * Where a plain scalar starting at `at` ends: before a ` #` comment and trailing spaces. A `: `
   * or a trailing `:` would make it a key, outside the subset here.
   */
  private plainEnd(at: number): number {
    const { text } = this;
    let end = at;
    for (let i = at; i < this.lineEnd; i++) {
      const c = text.charCodeAt(i);
      if (c === 32) {
        if (text.charCodeAt(i + 1) === 35) break;
        continue;
      }
      if (c === 58 && (i + 1 === this.lineEnd || text.charCodeAt(i + 1) === 32)) throw outside;
      end = i + 1;
    }
    return end;
  }

  /** After a quoted scalar or `{}`/`[]`: only spaces, then a comment or the line's end. */
  private afterQuoted<T extends Scalar | YAMLMap | YAMLSeq>(node: T): T {
    const valueEnd = node.range![1];
    let i = valueEnd;
    while (i < this.lineEnd && this.text.charCodeAt(i) === 32) i++;
    if (i < this.lineEnd && (i === valueEnd || this.text[i] !== "#")) throw outside;
    node.range![2] = this.lineNodeEnd;
    return node;
  }

  /** The `'` closing a single-quoted scalar opened at `at` (`''` is a quote), or -1 if not on this line. */
  private singleQuoteEnd(at: number, required: boolean): number {
    const { text } = this;
    for (let i = at + 1; i < this.lineEnd; i++) {
      if (text.charCodeAt(i) !== 39) continue;
      if (text.charCodeAt(i + 1) === 39) i++;
      else return i + 1;
    }
    if (required) throw outside; // a multi-line scalar
    return -1;
  }

  private singleQuoted(at: number): Scalar {
    const end = this.singleQuoteEnd(at, true);
    const value = this.text.slice(at + 1, end - 1).replaceAll("''", "'");
    return scalar(value, value, Scalar.QUOTE_SINGLE, [at, end, end]);
  }

  /** A double-quoted scalar without escapes (a backslash leaves the subset), on one line. */
  private doubleQuoted(at: number): Scalar {
    const { text } = this;
    let i = at + 1;
    while (i < this.lineEnd && text.charCodeAt(i) !== 34 && text.charCodeAt(i) !== 92) i++;
    if (i >= this.lineEnd || text[i] === "\\") throw outside;
    const value = text.slice(at + 1, i);
    return scalar(value, value, Scalar.QUOTE_DOUBLE, [at, i + 1, i + 1]);
  }

  /** `{}` or `[]`; a flow collection with content leaves the subset. */
  private emptyFlow(at: number): YAMLMap | YAMLSeq {
    const open = this.text[at];
    if (this.text[at + 1] !== (open === "{" ? "}" : "]")) throw outside;
    const node = open === "{" ? new YAMLMap() : new YAMLSeq();
    node.flow = true;
    node.range = [at, at + 2, at + 2];
    return node;
  }
}
