// Property-based tests of the pixi readers (src/input/toml-reader.ts, pixi-manifest.ts,
// pixi-lock.ts): the fixture manifests and locks (test/fixtures/pixi) with random edits, random
// text, and large repeated input, read into the documented types or refused with a SpecError
// naming a line, never another error, and each within maxCallMs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../src/input/errors";
import { parsePixiManifest } from "../../src/input/pixi-manifest";
import { readPixiLock } from "../../src/input/pixi-lock";
import { anyText, deeplyNested, mutated, params, repeated, timeout, typedOutcome } from "./helpers";

const fixture = (name: string) => readFileSync(join(__dirname, "..", "fixtures", "pixi", name), "utf8");

/** TOML's own syntax, inserted by the edits the helpers' YAML characters do not cover. */
const tomlBits = fc.constantFrom("[", "]", "[[x]]\n", "{", "}", " = ", '"', "'''", '"""', "\\u00e9", "1979-05-27T07:32:00Z", "inf", "0x1F", "a.b.c = 1\n", "[tool.pixi]\n", "[feature.x.dependencies]\n");
const withToml = (text: string) => fc.tuple(mutated(fc.constant(text)), tomlBits, fc.double({ min: 0, max: 1, noNaN: true })).map(([t, bit, at]) => t.slice(0, Math.floor(at * t.length)) + bit + t.slice(Math.floor(at * t.length)));

const manifestText = (name: string) => fc.oneof({ arbitrary: mutated(fc.constant(fixture(name))), weight: 6 }, { arbitrary: withToml(fixture(name)), weight: 4 }, { arbitrary: anyText, weight: 1 }, { arbitrary: repeated(fc.constantFrom("[a]\n", "x = [", "a = { b = { c = 1 } }\n", "[[t]]\n")), weight: 1 });
const lockText = fc.oneof(
  { arbitrary: mutated(fc.constantFrom(fixture("pixi-v6.lock"), fixture("pixi-v7.lock"))), weight: 8 },
  { arbitrary: anyText, weight: 1 },
  { arbitrary: deeplyNested, weight: 1 },
  { arbitrary: repeated(fc.constantFrom("packages:\n", "- conda: http://x/linux-64/a-1-0.conda\n", "environments:\n", "&a [*a]\n")), weight: 1 },
);

function checkError(e: SpecError): void {
  expect(e.problems.length).toBeGreaterThan(0);
  for (const p of e.problems) expect(p.message.trim()).not.toBe("");
}

describe("pixi manifests, fuzzed", () => {
  for (const name of ["pixi.toml", "pyproject.toml"]) {
    it(`${name}: any edit reads into a spec of strings or is a SpecError, within a second`, () => {
      fc.assert(
        fc.property(manifestText(name), fc.constantFrom(undefined, "default", "extra", "nope"), (text, environment) => {
          const out = typedOutcome(() => parsePixiManifest(name, text, { environment }), [SpecError]);
          if (!out.ok) return checkError(out.error);
          for (const d of [...out.value.dependencies, ...out.value.pip]) expect(typeof d.value).toBe("string");
          expect(out.value.environmentNames).toContain(out.value.environmentName);
        }),
        params,
      );
    }, timeout);
  }
});

describe("pixi.lock, fuzzed", () => {
  it("any edit of a v6 or v7 lock reads into a lock of valid packages or is a SpecError, within a second", () => {
    fc.assert(
      fc.property(lockText, fc.constantFrom(undefined, "default", "extra", "nope"), fc.constantFrom(["linux-64"], ["linux-aarch64"], ["linux-64", "linux-aarch64"]), (text, environment, subdirs) => {
        const out = typedOutcome(() => readPixiLock("pixi.lock", text, { environment, subdirs: [...subdirs] }), [SpecError]);
        if (!out.ok) return checkError(out.error);
        for (const p of out.value.packages) {
          expect(subdirs).toContain(p.platform);
          expect(p.name).toMatch(/^[^/\\\0]+$/);
          expect(p.filename).not.toMatch(/[/\\]/);
          if (p.sha256 !== undefined) expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
        }
      }),
      params,
    );
  }, timeout);
});
