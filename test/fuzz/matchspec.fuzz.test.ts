// Property-based tests of the small conda-syntax readers: match specs (src/conda/matchspec.ts),
// channel names (channels.ts) and virtual packages (virtual-packages.ts). Each returns the
// documented shape or throws its own error class with a message; never another error, never slowly.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChannelError, resolveChannel, resolveChannels } from "../../src/conda/channels";
import { dependencyConstraint, dependencyName, MatchSpecError, parseMatchSpec } from "../../src/conda/matchspec";
import { glibcFromDpkgStatus, subdirOf, virtualPackages } from "../../src/conda/virtual-packages";
import { anyText, channelText, hostileString, matchSpecText, mutated, params, repeated, timeout, typedOutcome, versionText } from "./helpers";

const specText = fc.oneof(
  { arbitrary: matchSpecText, weight: 6 },
  { arbitrary: mutated(matchSpecText), weight: 2 },
  { arbitrary: repeated(fc.constantFrom("a", " ", "=", "[", "]", "a=1,", "::", "'", "x[a=1, ", ">=1|")), weight: 1 },
);

describe("match spec fuzz", () => {
  it("parseMatchSpec returns name, channel and solver spec, or throws a MatchSpecError", () => {
    fc.assert(
      fc.property(specText, (raw) => {
        const out = typedOutcome(() => parseMatchSpec(raw), [MatchSpecError]);
        if (!out.ok) return;
        const s = out.value;
        expect(s.text).toBe(raw.trim());
        expect(s.name).toMatch(/^[a-z0-9_][a-z0-9_.+-]*$/);
        if (s.channel !== undefined) {
          expect(s.channel).not.toBe("");
          expect(s.channel).not.toMatch(/\s/);
        }
        expect(typeof s.solverSpec).toBe("string");
        expect(s.solverSpec).toBe(s.solverSpec.trim());
        expect(s.solverSpec.toLowerCase().startsWith(s.name)).toBe(true);
        // The solver spec is itself a valid spec of the same package, without a channel.
        const again = typedOutcome(() => parseMatchSpec(s.solverSpec), [MatchSpecError]);
        expect(again.ok, again.ok ? "" : `${JSON.stringify(s.solverSpec)}: ${again.error.message}`).toBe(true);
        if (again.ok) expect({ name: again.value.name, channel: again.value.channel, solverSpec: again.value.solverSpec }).toEqual({ name: s.name, channel: undefined, solverSpec: s.solverSpec });
      }),
      params,
    );
  }, timeout);

  it("dependencyName and dependencyConstraint take any depends entry", () => {
    fc.assert(
      fc.property(fc.oneof(matchSpecText, anyText), (dep) => {
        const out = typedOutcome(() => ({ name: dependencyName(dep), constraint: dependencyConstraint(dep) }), []);
        if (!out.ok) return;
        expect(out.value.name).toBe(out.value.name.toLowerCase());
        expect(out.value.name).not.toMatch(/[\s=<>!~[]/);
        expect(out.value.constraint).not.toBe("");
      }),
      params,
    );
  }, timeout);
});

describe("channel fuzz", () => {
  const alias = fc.oneof(fc.constant(undefined), fc.constantFrom("https://conda.anaconda.org", "https://mirror.example/conda/", "http://x"), hostileString);
  const channel = fc.oneof(channelText, anyText, mutated(channelText));

  it("resolveChannel returns a URL without a trailing slash, or throws a ChannelError", () => {
    fc.assert(
      fc.property(channel, alias, (name, a) => {
        const out = typedOutcome(() => resolveChannel(name, a), [ChannelError]);
        if (!out.ok) return;
        expect(out.value.name).toBe(name.trim());
        expect(typeof out.value.url).toBe("string");
        if (out.value.url.length > 1 && /^(https?|file):\/\//.test(name.trim())) expect(out.value.url.endsWith("/")).toBe(false);
      }),
      params,
    );
  }, timeout);

  it("resolveChannels drops nodefaults and duplicates, or throws a ChannelError", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(channel, fc.constant("nodefaults")), { maxLength: 6 }), alias, (names, a) => {
        const out = typedOutcome(() => resolveChannels(names, a), [ChannelError]);
        if (!out.ok) return;
        const urls = out.value.map((c) => c.url);
        expect(new Set(urls).size).toBe(urls.length);
        expect(out.value.some((c) => c.name === "nodefaults")).toBe(false);
      }),
      params,
    );
  }, timeout);
});

describe("virtual package fuzz", () => {
  const value = fc.oneof(versionText, fc.tuple(versionText, fc.string()).map(([v, b]) => `${v}=${b}`), fc.constant(""), hostileString);
  const key = fc.oneof(fc.constantFrom("__glibc", "__cuda", "__archspec", "__linux", "__unix", "__proto__", "constructor"), hostileString);
  const overrideKey = fc.oneof(fc.constantFrom("GLIBC", "CUDA", "ARCHSPEC", "LINUX", "__PROTO__", "proto__"), hostileString);

  it("virtualPackages gives sorted, unique, string-valued packages for any configuration", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("linux-64", "linux-aarch64", "linux-ppc64le", "linux-s390x", "linux-armv7l", "linux-riscv64"),
        fc.option(fc.oneof(versionText, hostileString)),
        fc.dictionary(key, value, { maxKeys: 4 }),
        fc.dictionary(overrideKey, value, { maxKeys: 4 }),
        (subdir, baseGlibc, configured, overrides) => {
          const out = typedOutcome(() => virtualPackages({ subdir, baseGlibc: baseGlibc ?? undefined, configured, overrides }), []);
          if (!out.ok) return;
          const names = out.value.map((p) => p.name);
          expect(new Set(names).size).toBe(names.length);
          expect([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(names);
          for (const p of out.value) for (const k of ["name", "version", "build"] as const) expect(typeof p[k]).toBe("string");
        },
      ),
      params,
    );
  }, timeout);

  it("glibcFromDpkgStatus reads a version or nothing from any status file", () => {
    const stanza = fc
      .tuple(fc.constantFrom("libc6", "libc6-dev", "libc6 ", "zlib1g"), fc.oneof(fc.constantFrom("2.36-9+deb12u4", "1:2.31-0ubuntu9", "2", "x"), anyText))
      .map(([p, v]) => `Package: ${p}\nStatus: install ok installed\nVersion: ${v}\n`);
    const status = fc.oneof(
      fc.array(stanza, { maxLength: 4 }).map((s) => s.join("\n")),
      mutated(fc.array(stanza, { minLength: 1, maxLength: 3 }).map((s) => s.join("\n"))),
      anyText,
      repeated(fc.constantFrom("Package: libc6\n", "\n", " \n", "Version: 2.", "\n\n")),
    );
    fc.assert(
      fc.property(status, (text) => {
        const out = typedOutcome(() => glibcFromDpkgStatus(text), []);
        if (out.ok && out.value !== undefined) expect(out.value).toMatch(/^\d+\.\d+$/);
      }),
      params,
    );
  }, timeout);

  it("subdirOf gives a linux subdir or refuses with a message", () => {
    const platform = fc.record(
      {
        OS: fc.oneof(fc.constantFrom("linux", "windows", "darwin"), hostileString),
        Architecture: fc.oneof(fc.constantFrom("amd64", "arm64", "arm", "ppc64le", "s390x", "riscv64", "386", "__proto__", "constructor", "toString"), hostileString),
        Variant: fc.constantFrom("v7", "v8", "v6", ""),
      },
      { requiredKeys: ["OS", "Architecture"] },
    );
    fc.assert(
      fc.property(platform, (p) => {
        // A bare Error is this function's error: the platform comes from --platform, checked earlier.
        const out = typedOutcome(() => subdirOf(p), [Error]);
        if (out.ok) expect(out.value).toMatch(/^linux-(64|aarch64|ppc64le|s390x|armv7l)$/);
      }),
      params,
    );
  }, timeout);
});
