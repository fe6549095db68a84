// Property-based tests of both lock readers (src/spec/lock.ts): conda-lock.yml and @EXPLICIT
// lists read into the documented types or throw a SpecError, never another error or slowly; and
// every lock our writer writes reads back as the same lock.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../src/input/errors";
import { type Lock, type LockedPackage, readCondaLock, readExplicitLock, readLock, sortedPackages, writeCondaLock } from "../../src/input/lock";
import { sourceFile } from "../../src/input/source";
import { writeYaml, type YamlValue } from "../../src/input/yaml-writer";
import { parse } from "yaml";
import {
  anyText, anyValue, archiveUrl, asYaml, bothModes, buildText, channelText, deeplyNested, fieldsMostly, hex, hostileString, type Mode, mutated, nearValid,
  packageName, params, platformText, repeated, timeout, typedOutcome, validMode, versionText,
} from "./helpers";

const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

// ---- generators -------------------------------------------------------------------------------

/** A conda archive URL as a channel serves it. */
const goodArchiveUrl = fc
  .record({
    base: fc.constantFrom("https://conda.anaconda.org/conda-forge", "http://repo.example:8080/ch", "file:///srv/channel"),
    platform: fc.constantFrom("linux-64", "noarch", "linux-aarch64"),
    name: packageName,
    version: versionText.filter((v) => !v.includes("-")),
    build: buildText,
    ext: fc.constantFrom(".conda", ".tar.bz2"),
  })
  .map((u) => `${u.base}/${u.platform}/${u.name}-${u.version}-${u.build}${u.ext}`);

const hashes = (m: Mode) =>
  m === validMode
    ? fc.oneof(fc.record({ md5: hex32 }), fc.record({ sha256: hex64 }), fc.record({ md5: hex32, sha256: hex64 }))
    : fieldsMostly({ md5: hex(32), sha256: hex(64) });

const packageEntry = (m: Mode) =>
  (m === validMode ? (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape, { requiredKeys: ["name", "version", "manager", "platform", "url", "hash"] }) : fieldsMostly)({
    name: packageName,
    version: fc.oneof(versionText, fc.integer(), fc.double({ noNaN: true })),
    manager: m === validMode ? fc.constant("conda") : fc.constantFrom("conda", "pip", "conda", "npm"),
    platform: platformText,
    dependencies: fc.dictionary(fc.oneof(packageName, hostileString), fc.oneof(fc.constantFrom("*", ">=3.4,<4.0a0", ""), hostileString, fc.integer()), { maxKeys: 3 }),
    url: m === validMode ? goodArchiveUrl : archiveUrl,
    hash: hashes(m),
    category: fc.constantFrom("main", "dev"),
    optional: fc.boolean(),
  });

const condaLockDoc = (m: Mode) =>
  (m === validMode ? (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape) : fieldsMostly)({
    version: m === validMode ? fc.constant(1) : fc.constantFrom(1, 1, 1, 2, "1"),
    metadata: m.keys({
      content_hash: m.value(fc.dictionary(platformText, hex64, { maxKeys: 2 })),
      channels: m.value(fc.array(m.value(m.keys({ url: m.value(channelText), used_env_vars: fc.array(hostileString, { maxLength: 1 }) })), { maxLength: 3 })),
      platforms: m.value(fc.array(m.value(platformText), { maxLength: 3 })),
      sources: m.value(fc.array(m.value(fc.constantFrom("environment.yml")), { maxLength: 2 })),
      custom_metadata: fc.constantFrom({ "conda-frontend": "1" }, {}, "conda-frontend", ["conda-frontend"]),
    }),
    package: fc.array(m.value(packageEntry(m)), { maxLength: 5 }),
  });

const condaLockText = fc.oneof(
  { arbitrary: nearValid(asYaml(bothModes(condaLockDoc))), weight: 10 },
  { arbitrary: asYaml(anyValue), weight: 1 },
  // Anchors and aliases, as a YAML library might write for a repeated object.
  {
    arbitrary: fc
      .tuple(asYaml(condaLockDoc(validMode)), fc.constantFrom("&a ", "*a", "<<: *a\n", "!!str ", "%YAML 1.1\n---\n", "---\n"), fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([t, s, at]) => t.slice(0, Math.floor(at * t.length)) + s + t.slice(Math.floor(at * t.length))),
    weight: 2,
  },
  { arbitrary: deeplyNested, weight: 1 },
  { arbitrary: repeated(fc.constantFrom("package:\n", "- name: x\n", "  url: https://x/a-1-0.conda\n", "[", "&a [*a]\n", "version: 1\n")), weight: 1 },
);

const goodExplicitLine = fc.tuple(goodArchiveUrl, fc.oneof(hex32, hex64.map((h) => `sha256:${h}`))).map(([u, h]) => `${u}#${h}`);
const explicitLine = fc.oneof(
  { arbitrary: goodExplicitLine, weight: 4 },
  {
    arbitrary: fc
      .tuple(archiveUrl, fc.oneof(hex(32), hex(64).map((h) => `sha256:${h}`), fc.constantFrom("", "sha256:", "md5:abc"), hostileString), fc.constantFrom("#", "#", " #", "##", ""))
      .map(([u, h, sep]) => `${u}${sep}${h}`),
    weight: 2,
  },
  { arbitrary: fc.oneof(platformText, fc.constant("")).map((p) => `# platform: ${p}`), weight: 1 },
  { arbitrary: fc.constantFrom("@EXPLICIT", " @EXPLICIT ", "@explicit", "# This file may be used to create an environment", "", "#", "\r"), weight: 2 },
  { arbitrary: anyText, weight: 1 },
);

const explicitText = fc.oneof(
  {
    arbitrary: nearValid(
      fc
        .tuple(fc.option(platformText, { freq: 6 }), fc.boolean(), fc.array(explicitLine, { maxLength: 8 }), fc.constantFrom("\n", "\r\n"))
        .map(([platform, explicit, lines, eol]) => [...(platform === null ? [] : [`# platform: ${platform}`]), ...(explicit ? ["@EXPLICIT"] : []), ...lines].join(eol)),
    ),
    weight: 6,
  },
  {
    // As conda list --explicit writes it.
    arbitrary: fc
      .tuple(platformText, fc.array(goodExplicitLine, { maxLength: 8 }))
      .map(([platform, lines]) => ["# This file may be used to create an environment using:", `# platform: ${platform}`, "@EXPLICIT", ...lines].join("\n") + "\n"),
    weight: 4,
  },
  { arbitrary: repeated(fc.constantFrom("@EXPLICIT\n", "https://x/a-1-0.conda#" + "a".repeat(32) + "\n", "# platform: linux-64\n", "#", "%", " ")), weight: 1 },
);

// Valid locks for the round trip: any strings where the format takes any string.
/** No lone surrogate (which encodeURIComponent refuses). */
const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const anyString = hostileString.filter(wellFormed);
/**
 * What the readers take as a package's name, version or build (they become file names): one
 * plain path segment of at most 255 characters without control characters.
 */
const fileSafe = (s: string) => s !== "" && s !== "." && s !== ".." && s.length <= 255 && !/[/\\\u0000-\u001f\u007f]/.test(s);
const safeString = anyString.filter(fileSafe);
const fileWord = fc.stringMatching(/^[^-\s/\\]{1,12}$/).filter((s) => wellFormed(s) && fileSafe(s));

const lockedPackage: fc.Arbitrary<LockedPackage> = fc
  .record({
    // A conda package's name and version are its file name's; a pip package's need not be.
    name: fc.oneof(packageName, safeString).filter(fileSafe),
    version: fc.oneof(versionText, fileWord).filter((v) => fileSafe(v) && !v.includes("-")),
    pipFile: fc.oneof(fc.constantFrom("requests-2.32.3-py3-none-any.whl", "x.tar.gz"), safeString),
    build: fc.oneof(buildText, fileWord).filter(fileSafe),
    ext: fc.constantFrom(".conda", ".tar.bz2"),
    channel: fc.oneof(fc.constantFrom("conda-forge", "https://repo.example/ch"), anyString),
    platform: anyString,
    manager: fc.constantFrom("conda" as const, "pip" as const),
    hashes: fc.constantFrom("md5", "sha256", "both"),
    md5: fc.stringMatching(/^[0-9a-f]{32}$/),
    sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
    dependencies: fc.dictionary(anyString, anyString, { maxKeys: 3 }),
    category: anyString,
    optional: fc.boolean(),
  })
  .filter((p) => `${p.name}-${p.version}-${p.build}${p.ext}`.length <= 255)
  .map((p) => {
    const filename = p.manager === "conda" ? `${p.name}-${p.version}-${p.build}${p.ext}` : p.pipFile;
    const url = `https://conda.example/${encodeURIComponent(p.channel)}/${encodeURIComponent(filename)}`;
    return {
      name: p.name,
      version: p.version,
      build: p.manager === "conda" ? p.build : "",
      platform: p.platform,
      manager: p.manager,
      url,
      filename,
      md5: p.hashes === "sha256" ? undefined : p.md5,
      sha256: p.hashes === "md5" ? undefined : p.sha256,
      dependencies: { ...p.dependencies },
      category: p.category,
      optional: p.optional,
    };
  });

const validLock: fc.Arbitrary<Lock> = fc.record({
  version: fc.constant(1 as const),
  platforms: fc.array(anyString, { maxLength: 3 }),
  channels: fc.array(anyString, { maxLength: 3 }),
  contentHash: fc.dictionary(anyString, anyString, { maxKeys: 3 }).map((d) => ({ ...d })),
  sources: fc.array(anyString, { maxLength: 2 }),
  packages: fc.array(lockedPackage, { maxLength: 4 }),
  ours: fc.boolean(),
});

/** Plain data as the lock writer takes it: finite numbers, strings without lone surrogates. */
const yamlValue: fc.Arbitrary<YamlValue> = fc.letrec<{ value: YamlValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyString,
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0))),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(anyString, tie("value"), { maxKeys: 4 }).map((d) => ({ ...d })),
  ),
})).value;

/**
 * `doc` as the yaml library reads it in 1.1 mode, which takes a plain E5 or e-1 for a float (NaN):
 * YAML 1.1 itself, and PyYAML, need digits before the exponent, so the writer leaves them plain.
 */
function as11(doc: YamlValue): YamlValue {
  const quirk = (s: string) => (/^[eE][-+]?[0-9]+$/.test(s) ? NaN : s);
  if (typeof doc === "string") return quirk(doc);
  if (Array.isArray(doc)) return doc.map(as11);
  if (doc && typeof doc === "object") return Object.fromEntries(Object.entries(doc).map(([k, v]) => [String(quirk(k)), as11(v)]));
  return doc;
}

// ---- checks of what is returned ---------------------------------------------------------------

function checkLock(lock: Lock): void {
  expect(lock.version).toBe(1);
  expect(typeof lock.ours).toBe("boolean");
  for (const s of [...lock.platforms, ...lock.channels, ...lock.sources, ...Object.keys(lock.contentHash), ...Object.values(lock.contentHash)]) expect(typeof s).toBe("string");
  for (const p of lock.packages) {
    for (const k of ["name", "version", "build", "platform", "url", "filename", "category"] as const) expect(typeof p[k], k).toBe("string");
    expect(["conda", "pip"]).toContain(p.manager);
    expect(typeof p.optional).toBe("boolean");
    expect(p.md5 !== undefined || p.sha256 !== undefined, "a package has a hash").toBe(true);
    if (p.md5 !== undefined) expect(p.md5).toMatch(/^[0-9a-f]{32}$/);
    if (p.sha256 !== undefined) expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
    if (p.manager === "conda") expect(p.build).not.toBe("");
    for (const [k, v] of Object.entries(p.dependencies)) {
      expect(typeof k).toBe("string");
      expect(typeof v).toBe("string");
    }
  }
  if (lock.packages.length) expect(lock.platforms.length).toBeGreaterThan(0);
}

function checkSpecError(e: SpecError, text: string): void {
  const lines = sourceFile("x", text).lineStarts.length;
  expect(e.problems.length).toBeGreaterThan(0);
  for (const p of e.problems) {
    expect(p.message.trim()).not.toBe("");
    if (p.range) for (const pos of [p.range.start, p.range.end]) expect(pos.line >= 1 && pos.line <= lines, `line ${pos.line} of ${lines}`).toBe(true);
  }
}

// ---- properties -------------------------------------------------------------------------------

describe("lock readers fuzz", () => {
  it("readCondaLock returns a well-typed lock or throws a SpecError", () => {
    fc.assert(
      fc.property(condaLockText, (text) => {
        const out = typedOutcome(() => readCondaLock("conda-lock.yml", text), [SpecError]);
        if (out.ok) checkLock(out.value);
        else checkSpecError(out.error, text);
      }),
      params,
    );
  }, timeout);

  it("readExplicitLock returns a well-typed lock or throws a SpecError", () => {
    fc.assert(
      fc.property(explicitText, fc.option(platformText), (text, fallback) => {
        const out = typedOutcome(() => readExplicitLock("explicit.txt", text, fallback ?? undefined), [SpecError]);
        if (out.ok) {
          checkLock(out.value);
          expect(out.value.platforms).toHaveLength(1);
        } else checkSpecError(out.error, text);
      }),
      params,
    );
  }, timeout);

  it("readLock takes any text, telling the formats apart", () => {
    fc.assert(
      fc.property(fc.oneof(condaLockText, explicitText, anyText, mutated(fc.constant("@EXPLICIT\nversion: 1\npackage: []\n"))), fc.option(platformText), (text, fallback) => {
        const out = typedOutcome(() => readLock("lock", text, fallback ?? undefined), [SpecError]);
        if (out.ok) checkLock(out.value);
        else checkSpecError(out.error, text);
      }),
      params,
    );
  }, timeout);

  it("writeYaml's text reads back as the same data, in YAML 1.2 and in YAML 1.1 (the version PyYAML reads; parsed here with the yaml library's 1.1 schema, not PyYAML)", () => {
    fc.assert(
      fc.property(fc.dictionary(anyString, yamlValue, { minKeys: 1, maxKeys: 4 }).map((d) => ({ ...d })), (doc) => {
        const out = typedOutcome(() => writeYaml(doc), []);
        if (!out.ok) return;
        for (const version of ["1.2", "1.1"] as const) {
          let back: unknown;
          try {
            back = parse(out.value, { version, uniqueKeys: true, strict: true, maxAliasCount: -1 });
          } catch (e) {
            throw new Error(`YAML ${version} cannot read what writeYaml wrote: ${(e as Error).message}\n---\n${out.value}`);
          }
          expect(back, `read as YAML ${version}`).toEqual(version === "1.1" ? as11(doc) : doc);
        }
      }),
      params,
    );
  }, timeout);

  it("every lock writeCondaLock writes reads back the same", () => {
    fc.assert(
      fc.property(validLock, (lock) => {
        const text = writeCondaLock(lock);
        const out = typedOutcome(() => readCondaLock("conda-lock.yml", text), [SpecError]);
        if (!out.ok) throw new Error(`our own lock did not read back:\n${out.error.message}\n---\n${text}`);
        const platforms = lock.platforms.length ? lock.platforms : [...new Set(lock.packages.map((p) => p.platform))].sort();
        expect(out.value).toEqual({ ...lock, platforms, packages: sortedPackages(lock.packages) });
      }),
      params,
    );
  }, timeout);
});
