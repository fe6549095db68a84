// Property-based tests of environment.yml reading (src/spec/environment.ts, image-section.ts,
// yaml-reader.ts, input.ts): any text either parses into the documented types or throws a
// SpecError whose problems point at lines of the file; never another error, never slowly.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EnvironmentSpec, parseEnvironment } from "../../src/input/environment";
import { SpecError } from "../../src/input/errors";
import { parseDuration, readImageSection, type ImageSpec } from "../../src/input/image-section";
import { chooseInput, inputCandidates, missingInputMessage } from "../../src/input/input-file";
import { type Located, sourceFile, type SourceRange } from "../../src/input/source";
import { YamlReader } from "../../src/input/yaml-reader";
import {
  anyText, anyValue, asYaml, bothModes, channelText, corruptMode, deeplyNested, hostileString, matchSpecText, type Mode, nearValid, params, repeated, timeout,
  typedOutcome, validMode,
} from "./helpers";

// ---- generators -------------------------------------------------------------------------------

const badPath = fc.constantFrom("relative", "/a/../b", "/x\u0000y", "~/x", "", "..");
const goodPath = fc.oneof(fc.constantFrom("/opt/conda", "/app", "/", "//x//", "/opt/conda/", "/a b/ü"), fc.stringMatching(/^(\/[A-Za-z0-9_.]{1,8}){1,3}\/?$/).filter((p) => !/(^|\/)\.\.(\/|$)/.test(p)));
const scalarish = fc.oneof(hostileString, fc.integer(), fc.double({ noNaN: true }), fc.boolean());
const goodCommand = fc.oneof(fc.array(scalarish, { minLength: 1, maxLength: 4 }), fc.constantFrom("python", "./run", "NONE", "CMD"));
const badCommand = fc.oneof(fc.constantFrom("python -m app", [], [null], [[1]], [{ a: 1 }]), fc.array(anyValue, { maxLength: 3 }));
const stringMap = fc.dictionary(hostileString, scalarish, { maxKeys: 4 });
const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
const goodDuration = fc.oneof(fc.constantFrom("30s", "1m30s", "500ms", "1.5h", "10us", "3µs", "0s"), fc.stringMatching(/^([0-9]{1,4}(\.[0-9]{1,3})?(ns|us|µs|ms|s|m|h)){1,3}$/));
const badDuration = fc.oneof(fc.constantFrom("10", "s", "", "1x", "µs", "9".repeat(400) + "h", "1.s", "-1s"), fc.stringMatching(/^[0-9.nuµmsh]{0,12}$/));
const goodPort = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.constantFrom("tcp", "udp", "sctp")).map(([n, p]) => `${n}/${p}`));
const badPort = fc.oneof(fc.constantFrom("99999", "80/xyz", "-1", "1.5", "", "0x50"), fc.integer({ min: 65536 }), hostileString);
const relPath = fc.oneof(fc.constantFrom(".", "./", "src", "./app/", "a/b/c", "pyproject.toml"), fc.stringMatching(/^[A-Za-z0-9_]{1,8}(\/[A-Za-z0-9_.]{1,8}){0,2}$/).filter((p) => !/(^|\/)\.\.(\/|$)/.test(p)));

/** The image: section, every value valid (validMode) or with a wrong one now and then (corruptMode). */
const imageSection = (m: Mode) =>
  m.keys({
    base: m.value(fc.oneof(fc.constantFrom("gcr.io/distroless/base-debian12:nonroot", "debian:12"), hostileString)),
    prefix: m.value(goodPath),
    workdir: m.value(goodPath),
    entrypoint: m.value(goodCommand),
    cmd: m.value(goodCommand),
    user: m.value(fc.oneof(fc.constantFrom("65532:65532", "root", "a.b-c:d_e"), fc.integer({ min: 0 }))),
    env: m.value(fc.dictionary(envName, scalarish, { maxKeys: 4 })),
    ports: m.value(fc.array(goodPort, { maxLength: 4 })),
    labels: m.value(stringMap),
    healthcheck: m.value(
      fc.record(
        { test: m.value(goodCommand), interval: m.value(goodDuration), timeout: m.value(goodDuration), "start-period": m.value(goodDuration), retries: m.value(fc.nat()) },
        { requiredKeys: ["test"] },
      ),
    ),
    "stop-signal": m.value(fc.oneof(fc.constantFrom("SIGTERM", "SIGRTMIN+3", "KILL"), fc.nat())),
    app: m.value(m.keys({ copy: m.value(fc.array(m.value(relPath), { maxLength: 3 })), install: m.value(fc.constantFrom("pip", "none")) })),
    lockfile: m.value(fc.constantFrom("conda-lock.yml", "explicit.txt", "locks/x.yml")),
    prune: m.value(fc.oneof(fc.constantFrom("none", "safe", "aggressive"), m.keys({ preset: m.value(fc.constantFrom("none", "safe", "aggressive")), remove: m.value(fc.array(hostileString)), keep: m.value(fc.array(hostileString)) }))),
    platforms: m.value(fc.array(m.value(fc.oneof(fc.constantFrom("linux/amd64", "linux/arm64", "windows/amd64"), hostileString)), { maxLength: 3 })),
    "virtual-packages": m.value(fc.dictionary(fc.oneof(fc.constantFrom("__glibc", "__cuda"), hostileString.map((s) => "__" + s)), fc.oneof(fc.constantFrom("2.28", "12.4=0"), scalarish), { maxKeys: 3 })),
    "post-link": m.value(fc.constantFrom("run", "skip")),
    "compile-pyc": m.value(fc.boolean()),
    "private-channels": m.value(fc.array(m.value(fc.oneof(fc.constantFrom("https://repo.example/ch/", "http://10.0.0.1:8080/c"), fc.webUrl().filter((u) => !/@|\/t\//.test(u)))), { maxLength: 3 })),
  });

/** Values that are wrong for each image key, for the corrupt mode's documents to include. */
const wrongImageValue = fc.oneof(
  fc.record({ prefix: badPath }), fc.record({ workdir: badPath }), fc.record({ cmd: badCommand }), fc.record({ entrypoint: badCommand }),
  fc.record({ ports: fc.array(badPort, { minLength: 1, maxLength: 2 }) }), fc.record({ healthcheck: fc.record({ test: goodCommand, interval: badDuration }) }),
  fc.record({ healthcheck: fc.constantFrom({}, { retries: -1 }, { test: [] }) }), fc.record({ user: fc.constantFrom("a:b:c", "", "a b") }),
  fc.record({ env: fc.dictionary(hostileString, scalarish, { minKeys: 1, maxKeys: 2 }) }), fc.record({ "stop-signal": fc.constantFrom("sigterm", "SIG TERM", "") }),
  fc.record({ app: fc.record({ copy: fc.array(badPath, { minLength: 1, maxLength: 2 }) }) }), fc.record({ prune: fc.constantFrom("all", { preset: "x" }) }),
  fc.record({ "virtual-packages": fc.dictionary(hostileString, fc.constant("1"), { minKeys: 1, maxKeys: 2 }) }),
  fc.record({ "private-channels": fc.constantFrom(["https://u:p@repo.example/ch"], ["https://x/t/tok/ch"], ["ftp://x"], ["http://"]) }),
);

const environment = (m: Mode) =>
  m.keys({
    name: m.value(fc.oneof(fc.constantFrom("app", "my-env"), hostileString)),
    channels: m.value(fc.array(m.value(fc.oneof(channelText, hostileString)), { maxLength: 4 })),
    dependencies: m.value(
      fc.array(
        fc.oneof(
          { arbitrary: matchSpecText.filter((s) => s.trim() !== ""), weight: 8 },
          { arbitrary: m.value(fc.record({ pip: m.value(fc.array(m.value(fc.constantFrom("requests==2.32", "-e .", "flask")), { maxLength: 3 })) })), weight: 1 },
        ),
        { maxLength: 6 },
      ).map((deps) => {
        // At most one pip: list is allowed.
        let pip = 0;
        return deps.filter((d) => typeof d === "string" || pip++ === 0);
      }),
    ),
    variables: m.value(stringMap),
    prefix: anyValue,
    image: m.value(
      m === corruptMode
        ? fc.tuple(imageSection(m), fc.option(wrongImageValue, { freq: 2 })).map(([img, wrong]) => ({ ...img, ...(wrong ?? {}) }))
        : imageSection(m),
    ),
  });

/** environment.yml text: a near-valid document (written out, perhaps mutated) or random text. */
const environmentText = fc.oneof(
  { arbitrary: nearValid(asYaml(bothModes(environment))), weight: 10 },
  { arbitrary: asYaml(anyValue), weight: 1 },
  // YAML features a hand-written file may use: anchors, aliases, tags, documents, directives.
  {
    arbitrary: fc
      .tuple(asYaml(environment(validMode)), fc.constantFrom("&a ", "*a", "!!str ", "!!binary ", "!custom ", "---\n", "...\n", "%YAML 1.1\n---\n", "? ", "<<: *a\n", "[", "{"), fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([t, s, at]) => t.slice(0, Math.floor(at * t.length)) + s + t.slice(Math.floor(at * t.length))),
    weight: 2,
  },
  { arbitrary: deeplyNested, weight: 1 },
  { arbitrary: repeated(fc.constantFrom("dependencies:\n", "  - python=3.12\n", "[", "{a: ", "- ", "&a x\n", "a: *a\n", "'", "#", "\\", " ")), weight: 1 },
);

// ---- checks of what is returned ---------------------------------------------------------------

function checkRange(r: SourceRange, lines: number): void {
  for (const p of [r.start, r.end]) {
    expect(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines, `line ${p.line} of ${lines}`).toBe(true);
    expect(Number.isInteger(p.character) && p.character >= 0).toBe(true);
  }
}

function checkLocated(l: Located<unknown> | undefined, type: "string" | "boolean", lines: number): void {
  if (l === undefined) return;
  expect(typeof l.value).toBe(type);
  checkRange(l.range, lines);
}

function checkImage(image: ImageSpec, lines: number): void {
  for (const k of ["base", "prefix", "workdir", "user", "stopSignal", "lockfile", "postLink"] as const) checkLocated(image[k], "string", lines);
  checkLocated(image.compilePyc, "boolean", lines);
  for (const list of [image.ports, image.platforms, image.privateChannels, image.app.copy]) for (const x of list) checkLocated(x, "string", lines);
  for (const map of [image.env, image.labels, image.virtualPackages]) {
    for (const { key, value } of map) {
      checkLocated(key, "string", lines);
      checkLocated(value, "string", lines);
    }
  }
  for (const c of [image.entrypoint, image.cmd]) {
    if (c) {
      expect(c.value.length).toBeGreaterThan(0);
      for (const s of c.value) expect(typeof s).toBe("string");
    }
  }
  for (const v of image.env) expect(v.key.value).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  for (const v of image.virtualPackages) expect(v.key.value.startsWith("__")).toBe(true);
  if (image.healthcheck) {
    expect(image.healthcheck.test.length).toBeGreaterThan(0);
    for (const n of [image.healthcheck.intervalNs, image.healthcheck.timeoutNs, image.healthcheck.startPeriodNs, image.healthcheck.retries]) {
      if (n !== undefined) expect(typeof n).toBe("number");
    }
  }
  if (image.prune) {
    expect(["none", "safe", "aggressive"]).toContain(image.prune.preset.value);
    for (const x of [...image.prune.keep, ...image.prune.remove]) checkLocated(x, "string", lines);
  }
  if (image.app.install) expect(["pip", "none"]).toContain(image.app.install.value);
}

function checkSpec(spec: EnvironmentSpec, lines: number): void {
  checkLocated(spec.name, "string", lines);
  for (const x of [...spec.channels, ...spec.pip]) checkLocated(x, "string", lines);
  for (const d of spec.dependencies) {
    checkLocated(d, "string", lines);
    expect(d.value).toBe(d.value.trim());
    expect(d.value).not.toBe("");
  }
  for (const { key, value } of spec.variables) {
    checkLocated(key, "string", lines);
    checkLocated(value, "string", lines);
  }
  checkImage(spec.image, lines);
}

function checkSpecError(e: SpecError, lines: number): void {
  expect(e.problems.length).toBeGreaterThan(0);
  for (const p of e.problems) {
    expect(typeof p.message).toBe("string");
    expect(p.message.trim()).not.toBe("");
    if (p.range) checkRange(p.range, lines);
  }
}

const lineCount = (text: string) => sourceFile("x", text).lineStarts.length;

// ---- properties -------------------------------------------------------------------------------

describe("environment.yml fuzz", () => {
  it("parseEnvironment returns a well-typed spec or throws a SpecError pointing into the file", () => {
    fc.assert(
      fc.property(environmentText, (text) => {
        const out = typedOutcome(() => parseEnvironment("environment.yml", text), [SpecError]);
        if (out.ok) checkSpec(out.value, lineCount(text));
        else checkSpecError(out.error, lineCount(text));
      }),
      params,
    );
  }, timeout);

  it("parseEnvironment takes any text, including random bytes decoded as UTF-8", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("utf8"))), (text) => {
        const out = typedOutcome(() => parseEnvironment("environment.yml", text), [SpecError]);
        if (out.ok) checkSpec(out.value, lineCount(text));
        else checkSpecError(out.error, lineCount(text));
      }),
      params,
    );
  }, timeout);

  it("the image section read on its own (any mapping as image:) gives a well-typed ImageSpec or problems", () => {
    fc.assert(
      fc.property(nearValid(asYaml(bothModes(imageSection))), (text) => {
        const out = typedOutcome(() => {
          const r = new YamlReader(sourceFile("environment.yml", text));
          const root = r.root();
          const image = readImageSection(r, root ?? null);
          r.throwIfProblems();
          return image;
        }, [SpecError]);
        if (out.ok) checkImage(out.value, lineCount(text));
        else checkSpecError(out.error, lineCount(text));
      }),
      params,
    );
  }, timeout);

  it("parseDuration returns a whole number of nanoseconds or undefined", () => {
    fc.assert(
      fc.property(fc.oneof(goodDuration, badDuration, anyText, repeated(fc.constantFrom("1", "1s", "1.", "ms", "9"))), (text) => {
        const out = typedOutcome(() => parseDuration(text), []);
        if (out.ok && out.value !== undefined) expect(Number.isInteger(out.value) || !Number.isFinite(out.value)).toBe(true);
      }),
      params,
    );
  }, timeout);

  it("choosing the input file never throws and picks a present candidate", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant("Dockerfile"), fc.constant("environment.yml"), anyText), fc.uniqueArray(fc.oneof(fc.constantFrom("environment.yml", "environment.yaml", "Dockerfile"), anyText), { maxLength: 4 }), (name, present) => {
        const out = typedOutcome(() => ({ chosen: chooseInput(name, new Set(present)), candidates: inputCandidates(name), message: missingInputMessage(name) }), []);
        if (!out.ok) return;
        if (out.value.chosen !== undefined) expect(present).toContain(out.value.chosen);
        expect(out.value.candidates.length).toBeGreaterThan(0);
        expect(out.value.message).not.toBe("");
      }),
      params,
    );
  }, timeout);
});
