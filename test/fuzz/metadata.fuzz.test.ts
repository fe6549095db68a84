// Property-based tests of a package's info/ metadata (src/conda/install/metadata.ts): index.json,
// paths.json or the legacy info/files + has_prefix + no_link, link.json. readMetadata returns the
// documented types or throws a MetadataError; never another error, never slowly.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ArchiveEntry } from "../../src/build-step/install/archive";
import { MetadataError, type PackageMetadata, readMetadata, splitHasPrefixLine } from "../../src/build-step/install/metadata";
import { anyText, anyValue, buildText, fieldsMostly, hostileString, mostly, mutated, packageName, params, repeated, timeout, typedOutcome, versionText } from "./helpers";

const entry = (path: string, data: string | Buffer, type: ArchiveEntry["type"] = "file"): ArchiveEntry => ({
  path,
  type,
  mode: 0o644,
  data: typeof data === "string" ? Buffer.from(data, "utf8") : data,
  mtime: 0,
});

// ---- generators -------------------------------------------------------------------------------

const relPath = fc.oneof(fc.constantFrom("bin/python", "lib/libz.so.1", "site-packages/a b/c.py", "share/x\ny", "", "../etc/passwd", "/abs"), hostileString);
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const placeholder = fc.oneof(fc.constantFrom("/opt/anaconda1anaconda2anaconda3", "/home/conda/feedstock_root/build_artifacts/x_placehold_placehold_placehold"), hostileString);

/** A JSON document's text: usually the value written out, sometimes broken. */
const jsonText = (value: fc.Arbitrary<unknown>) =>
  fc.oneof({ arbitrary: value.map((v) => JSON.stringify(v) ?? "null"), weight: 8 }, { arbitrary: mutated(value.map((v) => JSON.stringify(v) ?? "null")), weight: 2 }, { arbitrary: anyText, weight: 1 });

const indexJson = fieldsMostly({
  name: packageName,
  version: versionText,
  build: buildText,
  build_number: fc.nat(),
  depends: fc.array(fc.constantFrom("python >=3.12", "libzlib"), { maxLength: 2 }),
  subdir: fc.constantFrom("linux-64", "noarch"),
  noarch: fc.constantFrom("python", "generic", true, false),
});

const pathsEntry = fieldsMostly({
  _path: relPath,
  path_type: fc.constantFrom("hardlink", "softlink", "directory", "hardlink"),
  sha256: hex64,
  size_in_bytes: fc.nat(),
  file_mode: fc.constantFrom("text", "binary"),
  prefix_placeholder: placeholder,
  no_link: fc.boolean(),
});

const pathsJson = fieldsMostly({ paths_version: fc.constantFrom(1, 1, 1, 2), paths: fc.array(mostly(pathsEntry, 10), { maxLength: 5 }) });

const linkJson = fieldsMostly({
  noarch: fieldsMostly({ type: fc.constantFrom("python", "generic"), entry_points: fc.array(mostly(fc.constantFrom("app = app.cli:main", "x=y:z")), { maxLength: 3 }) }),
  package_metadata_version: fc.constant(1),
});

const quoted = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t")}"`;
const hasPrefixLine = fc.oneof(
  relPath.map((p) => (/[ "]/.test(p) ? quoted(p) : p)),
  fc.tuple(placeholder, fc.constantFrom("text", "binary", "Text", "other"), relPath).map(([ph, mode, p]) => [ph, mode, p].map((f) => (/[ "]|^$/.test(f) ? quoted(f) : f)).join(" ")),
  fc.constantFrom('"unterminated', '"', "a b", "a  b  c  d", '"a\\', "\\", " ", "\t"),
  anyText,
);
const lines = (line: fc.Arbitrary<string>) => fc.oneof(fc.array(line, { maxLength: 6 }).map((ls) => ls.join("\n")), anyText, repeated(line.map((l) => l + "\n")));

/** An info/ folder: index.json, then paths.json or the legacy files, perhaps link.json, perhaps the files themselves. */
const infoEntries: fc.Arbitrary<ArchiveEntry[]> = fc
  .record({
    index: fc.option(jsonText(indexJson), { freq: 12 }),
    paths: fc.option(jsonText(fc.oneof({ arbitrary: pathsJson, weight: 6 }, { arbitrary: anyValue, weight: 1 })), { freq: 2 }),
    files: fc.option(lines(relPath)),
    hasPrefix: fc.option(lines(hasPrefixLine)),
    noLink: fc.option(lines(relPath)),
    link: fc.option(jsonText(mostly(linkJson)), { freq: 3 }),
    payload: fc.array(fc.tuple(relPath, fc.constantFrom("file", "symlink", "directory", "hardlink") as fc.Arbitrary<ArchiveEntry["type"]>), { maxLength: 3 }),
    binary: fc.option(fc.uint8Array({ maxLength: 64 }), { freq: 8 }),
  })
  .map((i) => {
    const out: ArchiveEntry[] = [];
    if (i.index !== null) out.push(entry("info/index.json", i.index));
    if (i.paths !== null) out.push(entry("info/paths.json", i.paths));
    if (i.files !== null) out.push(entry("info/files", i.files));
    if (i.hasPrefix !== null) out.push(entry("info/has_prefix", i.hasPrefix));
    if (i.noLink !== null) out.push(entry("info/no_link", i.noLink));
    if (i.link !== null) out.push(entry("info/link.json", i.link));
    if (i.binary !== null) out.push(entry(["info/index.json", "info/paths.json", "info/has_prefix", "info/files"][i.binary.length % 4]!, Buffer.from(i.binary)));
    for (const [p, type] of i.payload) out.push(entry(p, "x", type));
    return out;
  });

// ---- checks of what is returned ---------------------------------------------------------------

function checkMetadata(m: PackageMetadata): void {
  for (const k of ["name", "version", "build"] as const) expect(typeof m.index[k], `index.${k}`).toBe("string");
  for (const p of m.paths) {
    expect(typeof p.path, "path").toBe("string");
    expect(["hardlink", "softlink", "directory"]).toContain(p.pathType);
    if (p.sha256 !== undefined) expect(typeof p.sha256, "sha256").toBe("string");
    if (p.size !== undefined) expect(Number.isInteger(p.size) && p.size >= 0, "size").toBe(true);
    if (p.fileMode !== undefined) expect(["text", "binary"]).toContain(p.fileMode);
    if (p.prefixPlaceholder !== undefined) expect(typeof p.prefixPlaceholder, "prefixPlaceholder").toBe("string");
    expect(typeof p.noLink).toBe("boolean");
  }
  expect(Array.isArray(m.entryPoints), "entryPoints is a list").toBe(true);
  for (const e of m.entryPoints) expect(typeof e, "entry point").toBe("string");
  expect([undefined, "python", "generic"]).toContain(m.noarch);
}

/**
 * What the properties found in metadata.ts before it checked types (crashes with TypeError,
 * wrongly typed results): each must return well-typed metadata or throw a MetadataError.
 */
const index = '{"name":"a","version":"1","build":"0"}';
const knownCounterexamples: [string, ArchiveEntry[]][] = [
  ["paths.json paths not a list", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":5}')]],
  ["paths.json paths an object", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":{}}')]],
  ["paths.json paths entry null", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":[null]}')]],
  ["paths.json _path not a string", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":[{"_path":5}]}')]],
  ["paths.json _path missing", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":[{}]}')]],
  ["paths.json sha256 / size_in_bytes / no_link of the wrong type", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":[{"_path":"a","sha256":[1],"size_in_bytes":"12"}]}')]],
  ["paths.json prefix_placeholder not a string", [entry("info/index.json", index), entry("info/paths.json", '{"paths_version":1,"paths":[{"_path":"a","prefix_placeholder":5}]}')]],
  ["index.json name, version or build not a string", [entry("info/index.json", '{"name":5,"version":[1],"build":0}')]],
  ["link.json entry_points not a list", [entry("info/index.json", index), entry("info/link.json", '{"noarch":{"type":"python","entry_points":"app = a:b"}}')]],
  ["link.json entry_points of the wrong type", [entry("info/index.json", index), entry("info/link.json", '{"noarch":{"type":"python","entry_points":[5]}}')]],
];

// ---- properties -------------------------------------------------------------------------------

describe("package metadata fuzz", () => {
  it("readMetadata returns well-typed metadata or throws a MetadataError", () => {
    fc.assert(
      fc.property(infoEntries, (entries) => {
        const out = typedOutcome(() => readMetadata(entries), [MetadataError]);
        if (out.ok) checkMetadata(out.value);
      }),
      params,
    );
  }, timeout);

  it.each(knownCounterexamples)("readMetadata: %s", (_, entries) => {
    const out = typedOutcome(() => readMetadata(entries), [MetadataError]);
    if (out.ok) checkMetadata(out.value);
  });

  it("splitHasPrefixLine takes any line and gives strings", () => {
    fc.assert(
      fc.property(fc.oneof(hasPrefixLine, anyText, repeated(fc.constantFrom('"', "\\", " ", "a", '"a b" '))), (line) => {
        const out = typedOutcome(() => splitHasPrefixLine(line), []);
        if (!out.ok) return;
        for (const f of out.value) expect(typeof f).toBe("string");
        expect(out.value.length).toBeLessThanOrEqual(line.length);
      }),
      params,
    );
  }, timeout);

  it("splitHasPrefixLine reads back fields written quoted where needed", () => {
    fc.assert(
      fc.property(fc.array(hostileString, { minLength: 1, maxLength: 4 }), (fields) => {
        const line = fields.map((f) => (/^$|[ "\\]/.test(f) ? quoted(f) : f)).join(" ");
        const out = typedOutcome(() => splitHasPrefixLine(line), []);
        if (out.ok) expect(out.value).toEqual(fields);
      }),
      params,
    );
  }, timeout);
});
