// Match specs as written in environment.yml: syntax checked early, name and channel extracted.
import { describe, expect, it } from "vitest";
import { dependencyConstraint, dependencyName, MatchSpecError, parseMatchSpec } from "../../src/conda/matchspec";

describe("parseMatchSpec", () => {
  it.each([
    ["python=3.12", "python", undefined, "python=3.12"],
    ["numpy>=1.26,<2", "numpy", undefined, "numpy>=1.26,<2"],
    ["conda-forge::pkg", "pkg", "conda-forge", "pkg"],
    ["pkg 1.2.* py312*", "pkg", undefined, "pkg 1.2.* py312*"],
    ["pkg[version='>=1', build=py*]", "pkg", undefined, "pkg[version='>=1', build=py*]"],
    ["python==3.12.1", "python", undefined, "python==3.12.1"],
    ["pkg !=1.0", "pkg", undefined, "pkg !=1.0"],
    ["pkg", "pkg", undefined, "pkg"],
  ])("accepts %s", (text, name, channel, solverSpec) => {
    const s = parseMatchSpec(text);
    expect(s).toEqual({ text, name, channel, solverSpec });
  });

  it("trims and lower-cases the name but keeps the text as written", () => {
    const s = parseMatchSpec("  PyYAML>=6  ");
    expect(s.text).toBe("PyYAML>=6");
    expect(s.name).toBe("pyyaml");
    expect(s.solverSpec).toBe("PyYAML>=6");
  });

  it("strips the channel from the solver spec, also with a version and brackets", () => {
    expect(parseMatchSpec("conda-forge::numpy>=1.26,<2")).toEqual({ text: "conda-forge::numpy>=1.26,<2", name: "numpy", channel: "conda-forge", solverSpec: "numpy>=1.26,<2" });
    const b = parseMatchSpec("bioconda::samtools[version='>=1.19']");
    expect(b.channel).toBe("bioconda");
    expect(b.name).toBe("samtools");
    expect(b.solverSpec).toBe("samtools[version='>=1.19']");
  });

  it.each([
    ["a >=>1", /invalid version constraint ">=>1"/],
    ["a <<2", /invalid version constraint/],
    ["", /empty package spec/],
    ["   ", /empty package spec/],
    ["-pkg", /invalid package name "-pkg"/],
    ["pk/g", /invalid package name/],
    ["pkg 1.0 py_0 extra", /too many parts/],
    ["pkg[version='>=1'", /unclosed \[/],
    ["::pkg", /invalid channel/],
    ["pkg[1version=2]", /invalid option/],
    ["pkg 1.0 py$0", /invalid build string/],
  ])("rejects %j", (text, message) => {
    expect(() => parseMatchSpec(text)).toThrow(MatchSpecError);
    expect(() => parseMatchSpec(text)).toThrow(message);
  });

  it("names the spec in the error", () => {
    expect(() => parseMatchSpec("numpy >=>1")).toThrow('in "numpy >=>1"');
  });

  // Found by test/fuzz: the channel was cut at the first "::" anywhere, also inside a quoted
  // option, so the spec was refused without a channel and read wrongly with one.
  it("takes the channel only from before the options", () => {
    expect(parseMatchSpec('a[build="x ::y"]')).toEqual({ text: 'a[build="x ::y"]', name: "a", channel: undefined, solverSpec: 'a[build="x ::y"]' });
    expect(parseMatchSpec('conda-forge::a[build="x ::y"]')).toEqual({ text: 'conda-forge::a[build="x ::y"]', name: "a", channel: "conda-forge", solverSpec: 'a[build="x ::y"]' });
  });
});

describe("dependencyName and dependencyConstraint", () => {
  it.each([
    ["libffi >=3.4,<4.0a0", "libffi", ">=3.4,<4.0a0"],
    ["python", "python", "*"],
    ["__glibc >=2.17", "__glibc", ">=2.17"],
    ["python_abi 3.12.* *_cp312", "python_abi", "3.12.* *_cp312"],
    ["numpy>=1.26", "numpy", ">=1.26"],
    ["  PyYAML  ", "pyyaml", "*"],
  ])("splits %j", (dep, name, constraint) => {
    expect(dependencyName(dep)).toBe(name);
    expect(dependencyConstraint(dep)).toBe(constraint);
  });
});

describe("match specs from conda env export and common typos", () => {
  it("accepts name=version=build", () => {
    const s = parseMatchSpec("numpy=1.26.4=py312h8753938_0");
    expect(s.name).toBe("numpy");
    expect(s.solverSpec).toBe("numpy=1.26.4=py312h8753938_0");
  });

  it("rejects => and =< with a hint", () => {
    expect(() => parseMatchSpec("a =>3")).toThrow(/invalid version constraint "=>3".*did you mean ">=3"/);
    expect(() => parseMatchSpec("a=<3")).toThrow(MatchSpecError);
  });
});
