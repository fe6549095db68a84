import { describe, expect, it } from "vitest";
import { show, SpecError } from "../../src/input/errors";
import { lineRange, positionAt, rangeOf, sourceFile } from "../../src/input/source";

describe("SpecError", () => {
  it("formats each problem as <file>:<line>: <message>, or <file>: <message> without a line", () => {
    const e = new SpecError({ name: "environment.yml" }, [{ message: "first", range: lineRange(4) }, { message: "second" }]);
    expect(e.message).toBe("environment.yml:4: first\nenvironment.yml: second");
    expect(e.name).toBe("SpecError");
    expect(e.ranges).toEqual([lineRange(4)]);
  });
});

describe("show", () => {
  it("shows values the way they were written", () => {
    expect(show("a")).toBe('"a"');
    expect(show([1, "b"])).toBe('[1, "b"]');
    expect(show({ a: 1 })).toBe("{a: 1}");
    expect(show(null)).toBe("null");
    expect(show(true)).toBe("true");
  });

  it("shortens long values to 80 characters", () => {
    const s = show("x".repeat(200));
    expect(s).toHaveLength(80);
    expect(s.endsWith("...")).toBe(true);
  });
});

describe("positions", () => {
  const file = sourceFile("f", "ab\ncde\n\nf");

  it("maps offsets to 1-based lines and 0-based characters", () => {
    expect(positionAt(file, 0)).toEqual({ line: 1, character: 0 });
    expect(positionAt(file, 2)).toEqual({ line: 1, character: 2 });
    expect(positionAt(file, 3)).toEqual({ line: 2, character: 0 });
    expect(positionAt(file, 5)).toEqual({ line: 2, character: 2 });
    expect(positionAt(file, 7)).toEqual({ line: 3, character: 0 });
    expect(positionAt(file, 8)).toEqual({ line: 4, character: 0 });
  });

  it("never gives a range that ends before it starts", () => {
    expect(rangeOf(file, 5, 3)).toEqual({ start: { line: 2, character: 2 }, end: { line: 2, character: 2 } });
  });
});
