// The conda-auth secret's format and which URLs it is sent to.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuthError, isPrivate, readAuthHeaders } from "../../src/conda/auth";
import { parseEnvironment } from "../../src/input/environment";

const secret = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), "cf-auth-")), "conda-auth");
  writeFileSync(file, text);
  return file;
};

describe("readAuthHeaders", () => {
  it("reads header lines, trimmed, blank lines skipped", () => {
    expect(readAuthHeaders(secret("Authorization: Bearer abc\n\nX-API-Key:  k1 \n"))).toEqual([
      ["Authorization", "Bearer abc"],
      ["X-API-Key", "k1"],
    ]);
  });

  it("reads one line that is not a header line as the Authorization header's value (BuildKit's form)", () => {
    expect(readAuthHeaders(secret("Bearer abc:def\n"))).toEqual([["Authorization", "Bearer abc:def"]]);
    expect(readAuthHeaders(secret("Basic dXNlcjpwYXNz"))).toEqual([["Authorization", "Basic dXNlcjpwYXNz"]]);
  });

  it("says how to pass a missing secret", () => {
    expect(() => readAuthHeaders("/nonexistent/conda-auth")).toThrow(/--secret id=conda-auth,env=/);
  });

  it("refuses several lines that are not all header lines, and an empty secret, without echoing the content", () => {
    expect(() => readAuthHeaders(secret("Authorization: Bearer x\njust-a-token\n"))).toThrow(AuthError);
    expect(() => readAuthHeaders(secret("Authorization: Bearer x\njust-a-token\n"))).not.toThrow(/just-a-token|Bearer x/);
    expect(() => readAuthHeaders(secret("\n"))).toThrow(/empty/);
  });
});

describe("isPrivate", () => {
  it("matches the channel and what is under it, not a longer sibling", () => {
    const chans = ["https://repo.example.com/private"];
    expect(isPrivate("https://repo.example.com/private/linux-64/repodata.json", chans)).toBe(true);
    expect(isPrivate("https://repo.example.com/private", chans)).toBe(true);
    expect(isPrivate("https://repo.example.com/private-other/linux-64/x.conda", chans)).toBe(false);
    expect(isPrivate("https://conda.anaconda.org/conda-forge/noarch/x.conda", chans)).toBe(false);
  });
});

describe("image.private-channels", () => {
  it("takes URLs without credentials, trailing slashes removed", () => {
    const spec = parseEnvironment("environment.yml", "image:\n  private-channels: [https://repo.example.com/c/]\n");
    expect(spec.image.privateChannels.map((c) => c.value)).toEqual(["https://repo.example.com/c"]);
  });

  it("refuses user:password@ and /t/<token>/ URLs at their line", () => {
    for (const bad of ["https://u:p@repo.example.com/c", "https://conda.anaconda.org/t/abc123/private"]) {
      expect(() => parseEnvironment("environment.yml", `name: x\nimage:\n  private-channels: [${bad}]\n`)).toThrow(/environment\.yml:3: image\.private-channels: expected a channel URL without credentials/);
    }
  });
});
