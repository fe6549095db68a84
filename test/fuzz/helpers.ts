// Shared pieces of the property-based tests: the run count, the property every reader must keep
// (it returns, or throws one of its own typed errors with a message, quickly), and generators of
// near-valid input. Purely random text rarely gets past the first parse, so most generators start
// from a well-formed document and then change values, types or characters in it.
import fc from "fast-check";
import { expect } from "vitest";
import { stringify } from "yaml";

/**
 * Runs per property: FUZZ_RUNS (`npm run fuzz` sets a large one), else a count that keeps all
 * fuzz files at a few seconds each in the unit run.
 */
export const runs = Number(process.env.FUZZ_RUNS) > 0 ? Number(process.env.FUZZ_RUNS) : 300;

/**
 * The `it` timeout for a property of `runs` runs (vitest's 5 s is too short for `npm run fuzz`).
 * A synchronous hang is not interrupted by it: the per-call bound below catches slow paths first.
 */
export const timeout = Math.max(60_000, runs * 50);

/** fc.assert's options: the run count; FUZZ_SEED and FUZZ_PATH replay a failure (fast-check prints both). */
export const params: fc.Parameters<unknown> = {
  numRuns: runs,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
  ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
};

/** No single call may take this long: a slower one is a hang (or a super-linear path) to fix. */
export const maxCallMs = 1000;

export type Outcome<T, E extends Error> = { ok: true; value: T } | { ok: false; error: E };

/**
 * Calls `f`: its result, or the error when it threw one of `allowed` with a non-empty message.
 * Anything else thrown (TypeError, RangeError, a bare Error) fails the property, as does a call
 * slower than maxCallMs.
 */
export function typedOutcome<T, E extends Error>(f: () => T, allowed: (abstract new (...args: never[]) => E)[]): Outcome<T, E> {
  const started = performance.now();
  let outcome: Outcome<T, E>;
  try {
    outcome = { ok: true, value: f() };
  } catch (e) {
    if (!allowed.some((c) => e instanceof c)) {
      const name = e instanceof Error ? e.constructor.name : typeof e;
      const expected = allowed.length ? `not ${allowed.map((c) => c.name).join(" or ")}` : "but must not throw";
      throw new Error(`threw ${name}, ${expected}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    expect((e as Error).message.trim(), "the error's message").not.toBe("");
    outcome = { ok: false, error: e as E };
  }
  const ms = performance.now() - started;
  expect(ms, `one call took ${ms.toFixed(0)} ms`).toBeLessThan(maxCallMs);
  return outcome;
}

// ---- strings ----------------------------------------------------------------------------------

/** Characters that mean something to YAML, plus some that are awkward anywhere. */
const yamlSyntax = [..."-:?[]{},#&*!|>'\"%@`.=<~/\\ \t\n\r", "\u0000", "\u0085", "\u2028", "\ufeff", "é", "💥", "\ud800"];
const wordish = [..."abcxyzABCZ0123456789_"];

/** Random text of every kind: any UTF-16 code units, YAML syntax soup, printable ASCII. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...yamlSyntax, ...wordish), maxLength: 80 }),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

/** Strings a user or a tool might plausibly write as a YAML value, and some hostile ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: anyText, weight: 3 },
  {
    arbitrary: fc.constantFrom(
      "", " ", "~", "null", "true", "yes", "no", "0", "1", "-1", "1e5", "0x10", ".inf", ".nan", "1.0", "2024-01-01",
      "12:30", "=", "<<", "__proto__", "constructor", "toString", "hasOwnProperty", "*", "-", "- a", "a: b", "#x",
      "%", "%2", "%zz", "%E0%A4%A", "\\", "'", '"', "\u0000", "\u2028", "\ud800", "\ufeff", "a".repeat(1000), "b".repeat(1030), "é".repeat(600),
    ),
    weight: 2,
  },
);

/** A value of any JSON/YAML type; strings from hostileString. */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(hostileString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Usually `valid`, sometimes a value of another type (or another string). */
export function mostly<T>(valid: fc.Arbitrary<T>, weight = 4): fc.Arbitrary<T | unknown> {
  return fc.oneof({ arbitrary: valid, weight }, { arbitrary: anyValue, weight: 1 });
}

/** A map from a random subset of `shape`'s keys (plus an occasional unknown key) to their values. */
export function someKeys(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.record(shape, { requiredKeys: [] }), fc.option(fc.dictionary(hostileString, anyValue, { maxKeys: 2 }), { freq: 5 }))
    .map(([known, extra]) => ({ ...(extra ?? {}), ...known }));
}

/**
 * How a document generator makes each value: `valid` keeps to the format (so the reader's result
 * gets checked too), `corrupt` now and then puts a value of another type or an unknown key in.
 */
export interface Mode {
  value<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown>;
  keys(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>>;
}
export const validMode: Mode = { value: (a) => a, keys: (shape) => fc.record(shape, { requiredKeys: [] }) };
export const corruptMode: Mode = { value: (a) => mostly(a, 8), keys: someKeys };

/** Documents of both modes. */
export function bothModes(build: (m: Mode) => fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(build(validMode), build(corruptMode));
}

// ---- text mutations ---------------------------------------------------------------------------

type Edit =
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate-line"; at: number }
  | { kind: "swap-lines"; at: number; other: number }
  | { kind: "indent"; at: number; by: string };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), text: fc.oneof(fc.constantFrom(...yamlSyntax), anyText) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant("duplicate-line" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("swap-lines" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), other: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("indent" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), by: fc.constantFrom(" ", "  ", "\t", "- ", "? ") }),
);

function applyEdit(text: string, e: Edit): string {
  const at = Math.floor(e.at * text.length);
  if (e.kind === "insert") return text.slice(0, at) + e.text + text.slice(at);
  if (e.kind === "delete") return text.slice(0, at) + text.slice(at + e.length);
  const lines = text.split("\n");
  const i = Math.floor(e.at * lines.length);
  if (e.kind === "duplicate-line") lines.splice(i, 0, lines[i] ?? "");
  else if (e.kind === "indent") lines[i] = e.by + (lines[i] ?? "");
  else {
    const j = Math.floor(e.other * lines.length);
    [lines[i], lines[j]] = [lines[j] ?? "", lines[i] ?? ""];
  }
  return lines.join("\n");
}

/** `text` with a few random edits: inserted syntax, deleted spans, moved and re-indented lines. */
export function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(text, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([t, edits]) => edits.reduce(applyEdit, t));
}

/** Structured text as is (mostly), mutated, or replaced by random text. */
export function nearValid(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: text, weight: 4 }, { arbitrary: mutated(text), weight: 3 }, { arbitrary: anyText, weight: 1 });
}

/** Large inputs, to catch work that grows faster than the input: a chunk repeated many times. */
export function repeated(chunk: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(chunk, fc.integer({ min: 200, max: 5000 })).map(([c, n]) => c.repeat(Math.max(1, Math.floor(n / Math.max(1, c.length / 10)))));
}

// ---- documents --------------------------------------------------------------------------------

/** A JS value written out as YAML in one of the ways people and tools write it, or as JSON. */
export function asYaml(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.tuple(value, fc.constantFrom("block", "flow", "double-quoted", "json")).map(([v, style]) => {
    if (style === "json") return JSON.stringify(v) ?? "";
    if (style === "flow") return stringify(v, { collectionStyle: "flow" });
    if (style === "double-quoted") return stringify(v, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
    return stringify(v);
  });
}

// ---- conda-shaped strings ---------------------------------------------------------------------

export const packageName = fc.oneof(
  fc.constantFrom("python", "numpy", "pip", "libgcc-ng", "_openmp_mutex", "ca-certificates", "PyYAML", "r-base", "c++", "x.y"),
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,12}$/),
);
export const versionText = fc.oneof(
  fc.constantFrom("3.12", "1.26.4", "2.*", "1!2.0", "1.0rc1", "0.1.0.post1", "*", "3.12.1", "1e5", "2024.1"),
  fc.stringMatching(/^[0-9A-Za-z_.+*!]{1,10}$/),
);
export const buildText = fc.oneof(fc.constantFrom("h0_0", "py312h1234567_0", "pyhd8ed1ab_0", "0", "*", "cuda*"), fc.stringMatching(/^[A-Za-z0-9_.+*]{1,12}$/));
const operator = fc.constantFrom("", "=", "==", ">=", "<=", "!=", "~=", ">", "<", "=>", "=<", ">>", "=", " ", " >=");
const channelName = fc.oneof(fc.constantFrom("conda-forge", "bioconda", "pytorch", "nvidia/label/cuda-12", "https://repo.example/ch", "defaults", "nodefaults"), fc.stringMatching(/^[A-Za-z0-9_.\/:-]{1,15}$/));
const option = fc.tuple(fc.constantFrom("version", "build", "subdir", "channel", "md5", "Bad", ""), fc.constantFrom("=", " = ", ":"), fc.oneof(versionText, fc.constantFrom("'>=1'", '"py*"', "'x", '"', "a b", '"] ::x"', "'a::b'", '"x, y"', "'[1]'")))
  .map(([k, eq, v]) => `${k}${eq}${v}`);

/** Match specs as people write them, right or slightly wrong. */
export const matchSpecText: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .record({
        channel: fc.option(fc.tuple(channelName, fc.constantFrom("::", ":", ":::")).map(([c, sep]) => c + sep), { freq: 4 }),
        name: packageName,
        constraints: fc.array(fc.tuple(operator, versionText).map(([o, v]) => o + v), { maxLength: 3 }),
        joiner: fc.constantFrom(",", "|", ", "),
        build: fc.option(buildText.map((b) => " " + b), { freq: 3 }),
        options: fc.option(fc.array(option, { maxLength: 3 }).map((os) => `[${os.join(", ")}]`), { freq: 4 }),
        pad: fc.constantFrom("", " ", "  ", "\t"),
      })
      .map((p) => `${p.pad}${p.channel ?? ""}${p.name}${p.constraints.join(p.joiner)}${p.build ?? ""}${p.options ?? ""}${p.pad}`),
    weight: 6,
  },
  { arbitrary: fc.tuple(packageName, fc.constantFrom("=", " "), versionText, fc.constantFrom("=", " "), buildText).map((p) => p.join("")), weight: 2 },
  { arbitrary: anyText, weight: 1 },
  { arbitrary: hostileString, weight: 1 },
);
export const channelText = channelName;

/** All of `shape`'s keys, each value mostly valid, and now and then one key left out. */
export function fieldsMostly(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(shape);
  const withTypes = Object.fromEntries(Object.entries(shape).map(([k, a]) => [k, mostly(a, 12)]));
  return fc
    .tuple(fc.record(withTypes), fc.option(fc.constantFrom(...keys), { freq: 6 }))
    .map(([rec, drop]) => Object.fromEntries(Object.entries(rec).filter(([k]) => k !== drop)));
}

export const platformText = fc.oneof(fc.constantFrom("linux-64", "linux-aarch64", "noarch", "osx-arm64", "win-64"), hostileString);
export const hex = (n: number) => fc.oneof({ arbitrary: fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)), weight: 6 }, { arbitrary: fc.stringMatching(/^[0-9a-fA-F]{0,70}$/), weight: 1 }, { arbitrary: fc.constantFrom("1".repeat(n), "1e" + "5".repeat(n - 2)), weight: 1 });

/** A package archive URL: a real-looking one, or one broken in one of the ways URLs break. */
export const archiveUrl = fc.oneof(
  {
    arbitrary: fc
      .record({
        base: fc.constantFrom("https://conda.anaconda.org/conda-forge", "http://repo.example:8080/ch", "file:///srv/channel", "https://x/t/tok/c", "conda-forge", "", "https://"),
        platform: fc.constantFrom("linux-64", "noarch", "linux-aarch64", ""),
        name: packageName,
        version: fc.oneof(versionText, fc.constantFrom("1-2", "")),
        build: fc.oneof(buildText, fc.constantFrom("", "a-b")),
        ext: fc.constantFrom(".conda", ".tar.bz2", ".tar.gz", "", ".whl"),
        tail: fc.constantFrom("", "", "", "?x=1", "#frag", "%", "%E0%A4%A", "%2F..%2F", "/", " "),
      })
      .map((u) => `${u.base}/${u.platform}/${u.name}-${u.version}-${u.build}${u.ext}${u.tail}`),
    weight: 6,
  },
  { arbitrary: fc.webUrl(), weight: 1 },
  { arbitrary: hostileString, weight: 1 },
);

/** Deeply nested YAML (flow or block), for stack overflows in the parser or in our recursion. */
export const deeplyNested: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 200, max: 4000 }), fc.constantFrom("flow-seq", "flow-map", "block-seq", "block-map"), fc.constantFrom("", "name: ", "package:\n  - ", "image:\n  env: "))
  .map(([n, kind, prefix]) => {
    if (kind === "flow-seq") return prefix + "[".repeat(n) + "]".repeat(n);
    if (kind === "flow-map") return prefix + "{a: ".repeat(n) + "1" + "}".repeat(n);
    const depth = Math.min(n, 1500);
    if (kind === "block-seq") return prefix + Array.from({ length: depth }, (_, i) => " ".repeat(i * 2) + "-").join("\n") + " x\n";
    return prefix + Array.from({ length: depth }, (_, i) => " ".repeat(i) + "a:").join("\n") + " x\n";
  });
