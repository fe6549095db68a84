import { describe, expect, it } from "vitest";
import { warmUp } from "../../src/frontend/warm-up";

describe("warmUp (what the frontend image's startup snapshot runs)", () => {
  // The image build runs it; a change that breaks the sample or a message would fail there, late.
  it("runs the pure part of a build on its sample without error, twice", () => {
    expect(() => warmUp()).not.toThrow();
    expect(() => warmUp()).not.toThrow();
  });
});
