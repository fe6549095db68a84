// What Return carries for errors: the user's own mistakes as plain messages (code Unknown, which
// BuildKit prints without a code-name prefix on every hop), with the input's lines attached.
import { describe, expect, it } from "vitest";
import { toStatus } from "../../src/frontend/build";
import { Code, sourceDetailType } from "../../src/gateway/errors";
import { OptionError } from "../../src/gateway/options";
import { SpecError } from "../../src/input/errors";

describe("toStatus", () => {
  it("returns an input error with code Unknown and the file's lines as an errdefs.Source detail", () => {
    const text = "name: x\nimage:\n  user: [1, 2]\n";
    const err = new SpecError({ name: "environment.yml", text }, [{ message: "image.user: expected a string", range: { start: { line: 3, character: 1 }, end: { line: 3, character: 15 } } }]);
    const status = toStatus(err);
    expect(status.code).toBe(Code.Unknown);
    expect(status.message.startsWith("environment.yml:3: image.user: expected a string")).toBe(true);
    expect(status.details?.map((d) => d.type_url)).toEqual([sourceDetailType]);
  });

  it("returns an option error with code Unknown and no detail", () => {
    const status = toStatus(new OptionError("unsupported network mode \"x\""));
    expect(status).toEqual({ code: Code.Unknown, message: "unsupported network mode \"x\"" });
  });
});
