// The encodings of the subrequest answers: the Result metadata keys and the JSON field names
// buildx reads (BuildKit's frontend/subrequests types), and the text renderings.
import { describe, expect, it } from "vitest";
import { answered, columns, describeResult, lintResult, outlineResult, requests, targetsResult } from "../../src/frontend/subrequests";
import type { InputFile } from "../../src/frontend/inputs";
import { parseBuildOptions } from "../../src/gateway/options";
import type { Result } from "../../src/gateway/messages";
import { parseEnvironment } from "../../src/input/environment";
import { lint, rules } from "../../src/plan/lint";
import { outline, targetList } from "../../src/plan/outline";

const host = { OS: "linux", Architecture: "amd64" };
const opts = parseBuildOptions({}, host);

function input(text: string): InputFile {
  return { name: "environment.yml", data: Buffer.from(text), text, conventionalLockName: "conda-lock.yml" };
}

const meta = (r: Result, key: string) => Buffer.from(r.metadata![key]!).toString("utf8");
const json = (r: Result) => JSON.parse(meta(r, "result.json")) as Record<string, unknown>;

const text = "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - numpy\nimage:\n  base: b:1\n";

describe("describeResult", () => {
  it("lists the four requests answered with BuildKit's Request fields, and a NAME/VERSION/DESCRIPTION table", () => {
    const r = describeResult();
    expect(r.ref).toBeUndefined();
    const list = JSON.parse(meta(r, "result.json")) as { name: string; version: string; type: string; metadata: { name: string }[] }[];
    expect(list.map((x) => x.name)).toEqual([requests.outline, requests.targets, requests.lint, requests.describe]);
    expect(list.every((x) => x.version === "1.0.0" && x.type === "rpc")).toBe(true);
    expect(list.find((x) => x.name === requests.lint)!.metadata.map((m) => m.name)).toEqual(["result.json", "result.txt", "result.statuscode"]);
    expect(meta(r, "result.txt").split("\n")[0]).toMatch(/^NAME\s+VERSION\s+DESCRIPTION$/);
    expect(meta(r, "version")).toBe("1.0.0");
    expect(answered).toHaveLength(4);
  });
});

describe("targetsResult", () => {
  it("encodes {targets:[{name, default, description, location}], sources:[base64 file]} and a TARGET table", () => {
    const r = targetsResult(targetList(parseEnvironment("environment.yml", text)), input(text));
    const j = json(r) as { targets: { name: string; default: boolean; location?: { sourceIndex: number; ranges: { start: { line: number } }[] } }[]; sources: string[] };
    expect(j.targets.map((t) => [t.name, t.default, t.location?.ranges[0]!.start.line])).toEqual([["image", true, 6], ["lock", false, 3], ["plan", false, undefined]]);
    expect(j.targets[0]!.location!.sourceIndex).toBe(0);
    expect(Buffer.from(j.sources[0]!, "base64").toString("utf8")).toBe(text);
    expect(meta(r, "result.txt")).toMatch(/^TARGET {10}DESCRIPTION\nimage \(default\) the slim image/);
    expect(meta(r, "version")).toBe("1.0.0");
  });
});

describe("outlineResult", () => {
  it("encodes args with value and location, leaves out empty values, marks required secrets, and prints three tables", () => {
    const r = outlineResult(outline(parseEnvironment("environment.yml", text), opts), input(text));
    const j = json(r) as { name: string; description: string; platforms: string[]; args: { name: string; value?: string; location?: unknown }[]; secrets: { name: string; required?: boolean }[] };
    expect(j.name).toBe("image");
    expect(j.platforms).toEqual(["linux/amd64"]);
    expect(j.description).toMatch(/platforms: linux\/amd64$/);
    expect(j.args.find((a) => a.name === "BASE_IMAGE")).toEqual({ name: "BASE_IMAGE", description: "the base image (image.base)", value: "b:1", location: { sourceIndex: 0, ranges: [{ start: { line: 6, character: 8 }, end: { line: 6, character: 11 } }] } });
    expect(j.args.find((a) => a.name === "SOURCE_DATE_EPOCH")!.value).toBeUndefined();
    expect(j.secrets).toEqual([{ name: "conda-auth" }, { name: "pip-conf" }, { name: "netrc" }]);
    const txt = meta(r, "result.txt");
    expect(txt).toMatch(/^TARGET: +image\n/);
    expect(txt).toMatch(/\nBUILD ARG +VALUE +DESCRIPTION\nBASE_IMAGE +b:1 +the base image/);
    expect(txt).toMatch(/\nSECRET +REQUIRED\nconda-auth\n/);
  });
});

describe("lintResult", () => {
  it("encodes warnings with ruleName, description, url, detail and location; statuscode 1 when something is found", () => {
    const r = lintResult(lint("environment.yml", text, opts), input(text));
    const j = json(r) as { warnings: { ruleName: string; description: string; url: string; detail: string; location: { sourceIndex: number; ranges: { start: { line: number } }[] } }[]; sources: { filename: string; language: string; data: string }[]; buildError?: unknown };
    expect(j.warnings.map((w) => [w.ruleName, w.url, w.location.sourceIndex, w.location.ranges[0]!.start.line])).toEqual([["UnpinnedWithoutLock", rules.unpinnedWithoutLock.url, 0, 4]]);
    expect(j.warnings[0]!.description).toBe(rules.unpinnedWithoutLock.description);
    expect(j.sources).toEqual([{ filename: "environment.yml", language: "YAML", data: Buffer.from(text).toString("base64") }]);
    expect(j.buildError).toBeUndefined();
    expect(meta(r, "result.statuscode")).toBe("1");
    expect(meta(r, "result.txt")).toBe(
      "\nWARNING: UnpinnedWithoutLock - https://github.com/org/conda-frontend#unpinnedwithoutlock\n" +
        "dependencies: numpy has no version and there is no lock file; pin it (e.g. numpy=1.2) or build from a lock (--target lock)\n" +
        "environment.yml:4\n--------------------\n>>>   4 |   - numpy\n--------------------\n",
    );
  });

  it("a clean file: no warnings, statuscode 0", () => {
    const clean = text.replace("numpy", "numpy=1.26");
    const r = lintResult(lint("environment.yml", clean, opts), input(clean));
    expect(json(r).warnings).toEqual([]);
    expect(meta(r, "result.statuscode")).toBe("0");
  });

  it("a file that does not parse: buildError {message, location} and statuscode 1", () => {
    const bad = "dependencies: [python=3.12]\nimage:\n  bas: x\n";
    const j = json(lintResult(lint("environment.yml", bad, opts), input(bad))) as { buildError: { message: string; location: { sourceIndex: number; ranges: { start: { line: number } }[] } } };
    expect(j.buildError.message).toMatch(/^environment\.yml:3: image: unknown key "bas"/);
    expect(j.buildError.location.sourceIndex).toBe(0);
    expect(j.buildError.location.ranges[0]!.start.line).toBe(3);
  });

  it("a finding with no place points at no source (sourceIndex -1), so buildx prints it without lines", () => {
    const r = lintResult({ warnings: [{ rule: rules.unreadableLock, detail: "x", ranges: [] }] }, input(text));
    expect((json(r).warnings as { location: unknown }[])[0]!.location).toEqual({ sourceIndex: -1, ranges: [] });
  });
});

describe("columns", () => {
  it("pads every column but the last to its widest cell plus the gap, and trims line ends", () => {
    expect(columns([["A", "BB", "C"], ["AAA", "", ""]], 2)).toBe("A    BB  C\nAAA\n");
  });
});
