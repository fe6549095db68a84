// planBuild(...).conda: specs, channels, lock file choice, virtual packages and overrides.
import { describe, expect, it } from "vitest";
import { SpecError } from "../../src/input/errors";
import { plan, planError } from "./helpers";


const problemLines = (e: SpecError) => e.problems.map((p) => `${p.range?.start.line ?? "-"}: ${p.message}`);

describe("planBuild: conda specs", () => {
  it("parses every dependency and keeps its line", () => {
    const c = plan("name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.12\n  - conda-forge::numpy>=1.26,<2\n  - pip:\n      - rich\n").conda;
    expect(c.specs.map((s) => [s.range.start.line, s.value.name, s.value.channel, s.value.solverSpec])).toEqual([
      [4, "python", undefined, "python=3.12"],
      [5, "numpy", "conda-forge", "numpy>=1.26,<2"],
    ]);
    expect(c.pip.map((p) => p.value)).toEqual(["rich"]);
    expect(c.dependenciesRange?.start.line).toBe(4);
    expect(c.channelsRange?.start.line).toBe(2);
  });

  it("reports an invalid spec at its line, naming the spec", () => {
    const e = planError("dependencies:\n  - numpy >=>1\n");
    expect(e.problems[0]!.range?.start.line).toBe(2);
    expect(e.problems[0]!.message).toMatch(/^dependencies: .*numpy >=>1/);
    expect(e.message).toMatch(/^environment\.yml:2: dependencies: invalid version constraint ">=>1" in "numpy >=>1"/);
  });

  it("reports every invalid spec", () => {
    const e = planError("channels: [conda-forge]\ndependencies:\n  - python\n  - -bad\n  - pkg 1 b extra\n");
    expect(e.problems.map((p) => p.range?.start.line)).toEqual([4, 5]);
  });
});

describe("planBuild: channels", () => {
  it("resolves channel names under conda.anaconda.org", () => {
    const c = plan("channels:\n  - conda-forge\n  - nodefaults\n  - https://repo.example.com/chan/\ndependencies: [python]\n").conda;
    expect(c.channels).toEqual([
      { name: "conda-forge", url: "https://conda.anaconda.org/conda-forge" },
      { name: "https://repo.example.com/chan/", url: "https://repo.example.com/chan" },
    ]);
  });

  it("uses the CONDA_CHANNEL_ALIAS build arg for names", () => {
    const c = plan("channels: [conda-forge]\ndependencies: [python]\n", "build-arg:CONDA_CHANNEL_ALIAS=https://mirror.example.com/conda/").conda;
    expect(c.channels).toEqual([{ name: "conda-forge", url: "https://mirror.example.com/conda/conda-forge" }]);
  });

  it("ignores an empty CONDA_CHANNEL_ALIAS", () => {
    const c = plan("channels: [conda-forge]\ndependencies: [python]\n", "build-arg:CONDA_CHANNEL_ALIAS=").conda;
    expect(c.channels[0]!.url).toBe("https://conda.anaconda.org/conda-forge");
  });

  it("refuses the defaults channel at its line", () => {
    const e = planError("name: x\nchannels:\n  - conda-forge\n  - defaults\ndependencies: [python]\n");
    expect(e.problems[0]!.range?.start.line).toBe(4);
    expect(e.problems[0]!.message).toMatch(/^channels: the "defaults" channel/);
  });

  it("refuses `channels: [defaults]` at its line", () => {
    const e = planError("name: x\nchannels: [defaults]\ndependencies: [python]\n");
    expect(e.problems[0]!.range?.start.line).toBe(2);
    expect(e.message).toMatch(/^environment\.yml:2: channels: the "defaults" channel/);
  });

  it("refuses dependencies without any channel", () => {
    const e = planError("name: x\ndependencies:\n  - python\n");
    expect(problemLines(e)).toEqual(["3: channels: no channel to install from; add e.g. `channels: [conda-forge]`"]);
    expect(problemLines(planError("channels: [nodefaults]\ndependencies: [python]\n"))[0]).toContain("no channel to install from");
  });

  it("accepts no channels when every spec names its channel, or when there are no dependencies", () => {
    expect(plan("dependencies:\n  - conda-forge::python\n").conda.channels).toEqual([]);
    expect(plan("name: x\n").conda.specs).toEqual([]);
  });
});

describe("planBuild: lock file", () => {
  const env = "channels: [conda-forge]\ndependencies: [python]\n";

  it("has no lock file by default", () => {
    expect(plan(env).conda.lockfile).toBeUndefined();
  });

  it("takes image.lockfile with its line", () => {
    const lf = plan(env + "image:\n  lockfile: locks/conda-lock.yml\n").conda.lockfile!;
    expect(lf).toMatchObject({ path: "locks/conda-lock.yml", origin: "image.lockfile", required: true });
    expect(lf.range?.start.line).toBe(4);
  });

  it("lets the LOCKFILE build arg win over image.lockfile", () => {
    const lf = plan(env + "image:\n  lockfile: locks/conda-lock.yml\n", "build-arg:LOCKFILE=other.yml").conda.lockfile!;
    expect(lf).toEqual({ path: "other.yml", origin: "build arg LOCKFILE", required: true });
  });

  it.each(["/abs/conda-lock.yml", "../conda-lock.yml", "locks/../../x.yml", ".."])("refuses the lock file path %j", (path) => {
    const fromArg = planError(env, `build-arg:LOCKFILE=${path}`);
    expect(fromArg.message).toBe(`environment.yml: build arg LOCKFILE: the lock file must be a path inside the input file's folder, got ${JSON.stringify(path)}`);
    const fromFile = planError(env + `image:\n  lockfile: "${path}"\n`);
    expect(problemLines(fromFile)).toEqual([`4: image.lockfile: the lock file must be a path inside the input file's folder, got ${JSON.stringify(path)}`]);
  });

  it("accepts paths with dots that are not parent references", () => {
    expect(plan(env, "build-arg:LOCKFILE=locks/..lock.yml").conda.lockfile?.path).toBe("locks/..lock.yml");
    expect(plan(env, "build-arg:LOCKFILE=./conda-lock.yml").conda.lockfile?.path).toBe("./conda-lock.yml");
  });
});

describe("planBuild: virtual packages and overrides", () => {
  const env = "channels: [conda-forge]\ndependencies: [python]\n";

  it("collects CONDA_OVERRIDE_* build args without the prefix", () => {
    const c = plan(env, "build-arg:CONDA_OVERRIDE_GLIBC=2.35", "build-arg:CONDA_OVERRIDE_CUDA=", "build-arg:OTHER=1").conda;
    expect(c.overrides).toEqual({ GLIBC: "2.35", CUDA: "" });
  });

  it("has no overrides or virtual packages by default", () => {
    const c = plan(env).conda;
    expect(c.overrides).toEqual({});
    expect(c.virtualPackages).toEqual({});
  });

  it("collects image.virtual-packages", () => {
    const c = plan(env + 'image:\n  virtual-packages:\n    __cuda: "12.2"\n    __glibc: "2.31=0"\n').conda;
    expect(c.virtualPackages).toEqual({ __cuda: "12.2", __glibc: "2.31=0" });
  });
});

describe("planBuild: lock target", () => {
  it("accepts target=lock and keeps the conda plan", () => {
    const p = plan("channels: [conda-forge]\ndependencies: [python=3.12]\n", "target=lock");
    expect(p.target).toBe("lock");
    expect(p.conda.specs.map((s) => s.value.text)).toEqual(["python=3.12"]);
    expect(p.warnings.some((w) => w.message.includes("solved but not installed"))).toBe(false);
  });
});

describe("a bad channel is reported once", () => {
  it("does not add a 'no channel' error on top of the channel's own", () => {
    const lines = problemLines(planError("channels:\n  - conda-forge\n  - defaults\ndependencies: [python]\n"));
    expect(lines).toEqual([expect.stringMatching(/^3: channels: the "defaults" channel/)]);
  });
});
