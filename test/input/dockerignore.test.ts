import { describe, expect, it } from "vitest";
import { parseDockerignore } from "../../src/input/dockerignore";

describe("parseDockerignore", () => {
  it("skips comments and blank lines and trims patterns", () => {
    expect(parseDockerignore("# build output\n\n  dist  \n*.pyc\n   \n")).toEqual(["dist", "*.pyc"]);
  });

  it("keeps exceptions with their !", () => {
    expect(parseDockerignore("*.md\n!README.md\n! docs/index.md\n")).toEqual(["*.md", "!README.md", "!docs/index.md"]);
  });

  it("cleans paths and drops a leading slash", () => {
    expect(parseDockerignore("/secrets\n./build\na/./b\na/../c\n//x\n!/keep\n")).toEqual(["secrets", "build", "a/b", "c", "x", "!keep"]);
  });

  it("drops patterns that clean to nothing", () => {
    expect(parseDockerignore(".\n/\n!\n/.\n")).toEqual([]);
  });

  it("handles CRLF line endings", () => {
    expect(parseDockerignore("node_modules\r\n.git\r\n")).toEqual(["node_modules", ".git"]);
  });
});
