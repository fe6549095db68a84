// Prune rules: globs over prefix-relative paths, presets, keep exceptions and protected paths.
import { describe, expect, it } from "vitest";
import { GlobError, globToRegExp, presets, pruner, removesPyc } from "../../src/conda/prune/rules";

describe("globToRegExp", () => {
  it("matches * within a segment, ** across segments, and a folder with what is below it", () => {
    expect(globToRegExp("lib/*.a").test("lib/libz.a")).toBe(true);
    expect(globToRegExp("lib/*.a").test("lib/sub/libz.a")).toBe(false);
    expect(globToRegExp("lib/**/*.a").test("lib/sub/deep/libz.a")).toBe(true);
    expect(globToRegExp("lib/**/*.a").test("lib/libz.a")).toBe(true);
    expect(globToRegExp("share/doc").test("share/doc/pkg/README")).toBe(true);
    expect(globToRegExp("share/doc").test("share/documents/x")).toBe(false);
  });

  it("matches a pattern without / by name anywhere", () => {
    expect(globToRegExp("*.js.map").test("share/app/static/main.js.map")).toBe(true);
    expect(globToRegExp("*.js.map").test("main.js")).toBe(false);
  });

  it("supports ?, [..], [!..] and {a,b}", () => {
    expect(globToRegExp("lib/lib[atlu]san.so*").test("lib/libtsan.so.2")).toBe(true);
    expect(globToRegExp("lib/lib[atlu]san.so*").test("lib/libxsan.so")).toBe(false);
    expect(globToRegExp("bin/[!p]*").test("bin/python")).toBe(false);
    expect(globToRegExp("share/{doc,man}/**").test("share/man/man1/x.1")).toBe(true);
    expect(globToRegExp("a?c").test("abc")).toBe(true);
  });

  it("refuses malformed and absolute globs", () => {
    for (const bad of ["a[b", "{a,b", "a}", "/abs/**", "", "x[]"]) expect(() => globToRegExp(bad), bad).toThrow(GlobError);
  });
});

describe("pruner", () => {
  it("the safe preset removes compile-time files and docs, keeps what runs", () => {
    const p = pruner({ remove: presets.safe, keep: [] });
    expect(p.removedBy("lib/libgreet.a")).toBe("*.a");
    expect(p.removedBy("include/greet.h")).toBe("include/**");
    expect(p.removedBy("share/doc/greet/README")).toBe("share/doc/**");
    expect(p.removedBy("lib/python3.12/idlelib/run.py")).toBe("lib/python*/idlelib/**");
    for (const kept of ["lib/libgreet.so.1", "bin/python3.12", "lib/python3.12/json/__init__.py", "lib/python3.12/site-packages/pip/__init__.py", "etc/greet.conf"]) {
      expect(p.removedBy(kept), kept).toBeUndefined();
    }
  });

  it("keep globs win over remove globs", () => {
    const p = pruner({ remove: presets.safe, keep: ["include/python3.12/**"] });
    expect(p.removedBy("include/python3.12/Python.h")).toBeUndefined();
    expect(p.removedBy("include/zlib.h")).toBe("include/**");
  });

  it("never removes CA certificates, tzdata, activation files or conda-meta", () => {
    const p = pruner({ remove: ["**"], keep: [] });
    for (const path of ["ssl/cacert.pem", "share/zoneinfo/UTC", "etc/conda/env_vars.d/x.json", "conda-meta/history"]) expect(p.removedBy(path), path).toBeUndefined();
    expect(p.removedBy("bin/anything")).toBe("**");
  });

  it("aggressive adds what can break things: pyc, pip, libpython, locales", () => {
    const p = pruner({ remove: presets.aggressive, keep: [] });
    expect(p.removedBy("lib/python3.12/json/__pycache__/__init__.cpython-312.pyc")).toBe("**/__pycache__/**");
    expect(p.removedBy("lib/python3.12/site-packages/pip/__init__.py")).toBe("lib/python*/site-packages/pip/**");
    expect(p.removedBy("lib/libpython3.12.so.1.0")).toBe("lib/libpython*.so*");
    expect(p.removedBy("lib/python3.12/site-packages/numpy/core/tests/test_x.py")).toBe("lib/python*/site-packages/{numpy,scipy,pandas}/**/tests/**");
  });
});

describe("removesPyc", () => {
  it("is true for aggressive (it prunes __pycache__), false for safe and none", () => {
    expect(removesPyc({ remove: presets.aggressive, keep: [] })).toBe(true);
    expect(removesPyc({ remove: presets.safe, keep: [] })).toBe(false);
    expect(removesPyc({ remove: presets.aggressive, keep: ["**/__pycache__/**"] })).toBe(false);
  });
});
