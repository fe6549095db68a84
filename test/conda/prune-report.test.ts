import { describe, expect, it } from "vitest";
import { formatBytes, formatSummary, isStepReport, type StepReport, summarize } from "../../src/conda/prune/report";

const python: StepReport = { kind: "package", name: "python", written: { files: 3000, bytes: 60 * 1024 * 1024 }, pruned: { "include/**": { files: 200, bytes: 2 * 1024 * 1024 }, "*.a": { files: 1, bytes: 40 * 1024 * 1024 } } };
const libs: StepReport = { kind: "package", name: "libs", written: { files: 10, bytes: 1024 * 1024 }, pruned: { "*.a": { files: 2, bytes: 1024 * 1024 } } };
const pip: StepReport = { kind: "pip", name: "pip", written: { files: 5, bytes: 2048 }, pruned: {} };

describe("size reports", () => {
  it("formats sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200 MiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GiB");
  });

  it("adds the steps up and orders rules by bytes left out", () => {
    const s = summarize([python, libs, pip]);
    expect(s.written).toEqual({ files: 3015, bytes: 61 * 1024 * 1024 + 2048 });
    expect(s.pruned).toEqual({ files: 203, bytes: 43 * 1024 * 1024 });
    expect(s.byRule).toEqual([
      ["*.a", { files: 3, bytes: 41 * 1024 * 1024 }],
      ["include/**", { files: 200, bytes: 2 * 1024 * 1024 }],
    ]);
  });

  it("says what the environment weighs and what each rule left out", () => {
    expect(formatSummary("/opt/conda", "safe", [python, libs, pip])).toBe(
      "environment /opt/conda: 61 MiB in 3015 files from 2 packages and pip's packages; image.prune (safe) left out 43 MiB in 203 files: *.a 41 MiB (3 files), include/** 2.0 MiB (200 files)",
    );
    expect(formatSummary("/opt/conda", "none", [{ kind: "package", name: "x", written: { files: 1, bytes: 5 }, pruned: {} }])).toBe("environment /opt/conda: 5 B in 1 file from 1 package; image.prune (none) left nothing out");
    expect(formatSummary("/opt/conda", "aggressive", [libs], [".pyc files were not compiled"])).toMatch(/\(1 file\)|\(2 files\); \.pyc files were not compiled$/);
  });

  it("recognises a report and rejects anything else", () => {
    expect(isStepReport(python)).toBe(true);
    expect(isStepReport({ kind: "package", name: "x", written: { files: 1 }, pruned: {} })).toBe(false);
    expect(isStepReport({ name: "x", written: { files: 1, bytes: 1 }, pruned: {} })).toBe(false);
    expect(isStepReport({ kind: "pip", name: "x", written: { files: 1, bytes: 1 }, pruned: { a: 1 } })).toBe(false);
    expect(isStepReport(null)).toBe(false);
  });
});
