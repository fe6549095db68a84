import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkParents, LinkError, safeRelativePath } from "../../../src/build-step/install/link";

describe("safeRelativePath", () => {
  it("returns plain relative paths as they are", () => {
    for (const p of ["bin/python", "lib/python3.12/site-packages/a.py", "a", "lib/.hidden", "a/..b/c", "a/b.."]) expect(safeRelativePath(p, "pkg")).toBe(p);
  });

  it("normalises dot segments, doubled and trailing slashes", () => {
    expect(safeRelativePath("./bin/python", "pkg")).toBe("bin/python");
    expect(safeRelativePath("lib/./a//b/", "pkg")).toBe("lib/a/b");
  });

  it("refuses paths that leave the prefix or are not relative", () => {
    for (const p of ["../etc/passwd", "a/../../b", "..", "lib/x/../y"]) expect(() => safeRelativePath(p, "pkg")).toThrow(/pkg: refusing the path .*: it leaves the prefix/);
    for (const p of ["/etc/passwd", "", "a\0b", "a\\..\\b"]) expect(() => safeRelativePath(p, "pkg")).toThrow(/must be relative to the prefix/);
  });
});

describe("checkParents", () => {
  it("refuses a path through a symlink, also when its folder was seen before the link", () => {
    const root = mkdtempSync(join(tmpdir(), "cf-link-"));
    mkdirSync(join(root, "lib/real"), { recursive: true });
    symlinkSync("/etc", join(root, "lib/out"));
    const known = new Set<string>();
    checkParents(root, "lib/real/a.so", "pkg", known);
    expect(known.has("lib/real")).toBe(true);
    expect(() => checkParents(root, "lib/out/passwd", "pkg", known)).toThrow(LinkError);
    expect(() => checkParents(root, "lib/out/x/passwd", "pkg", known)).toThrow(/goes through the symlink "lib\/out"/);
    // A folder not made yet has nothing to follow.
    checkParents(root, "share/new/file", "pkg", known);
  });
});
