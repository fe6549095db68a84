// What --call targets and --call outline report: targets with their lines, build args with their
// values (given, from the file, or default) and where the file sets them, and the secrets.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnvironment } from "../../src/input/environment";
import { parseInputSpec } from "../../src/input/input-spec";
import { outline, targetList } from "../../src/plan/outline";
import { planOptions } from "./helpers";


const text = `name: x
channels: [conda-forge]
dependencies:
  - python=3.12
  - pip
  - pip:
      - rich==13.7.1
image:
  base: registry.example/base:1
  lockfile: env.lock
  virtual-packages:
    __cuda: "12.2"
  private-channels:
    - https://conda.example/private
  platforms: [linux/amd64, linux/arm64]
`;
const spec = () => parseEnvironment("environment.yml", text);
const arg = (o: ReturnType<typeof outline>, name: string) => o.args.find((a) => a.name === name)!;

describe("targetList", () => {
  it("lists image (the default), lock and plan; image at image.base's line, lock at the first dependency", () => {
    expect(targetList(spec()).map((t) => [t.name, t.default, t.range?.start.line])).toEqual([
      ["image", true, 9],
      ["lock", false, 4],
      ["plan", false, undefined],
    ]);
  });

  it("without a parsed file: the same targets with no lines", () => {
    expect(targetList(undefined).map((t) => [t.name, t.range])).toEqual([
      ["image", undefined],
      ["lock", undefined],
      ["plan", undefined],
    ]);
  });
});

describe("outline", () => {
  it("takes values from the image section with their lines when no build arg is given", () => {
    const o = outline(spec(), planOptions());
    expect([arg(o, "BASE_IMAGE").value, arg(o, "BASE_IMAGE").range?.start.line]).toEqual(["registry.example/base:1", 9]);
    expect([arg(o, "LOCKFILE").value, arg(o, "LOCKFILE").range?.start.line]).toEqual(["env.lock", 10]);
    expect([arg(o, "CONDA_OVERRIDE_CUDA").value, arg(o, "CONDA_OVERRIDE_CUDA").range?.start.line]).toEqual(["12.2", 12]);
    expect([arg(o, "PREFIX").value, arg(o, "PREFIX").range]).toEqual(["/opt/conda", undefined]);
    expect(arg(o, "CONDA_CHANNEL_ALIAS").value).toBe("https://conda.anaconda.org");
    expect(arg(o, "PIP_INDEX_URL").range?.start.line).toBe(7);
    expect(o.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(o.target).toBe("image");
  });

  it("a build arg's value wins and keeps the line of the setting it overrides; --platform wins over image.platforms", () => {
    const o = outline(spec(), planOptions("build-arg:BASE_IMAGE=other:2", "build-arg:CONDA_OVERRIDE_GLIBC=2.31", "build-arg:CONDA_OVERRIDE_FOO=1", "platform=linux/arm64", "target=lock"));
    expect([arg(o, "BASE_IMAGE").value, arg(o, "BASE_IMAGE").range?.start.line]).toEqual(["other:2", 9]);
    expect(arg(o, "CONDA_OVERRIDE_GLIBC").value).toBe("2.31");
    expect(arg(o, "CONDA_OVERRIDE_FOO").value).toBe("1");
    expect(o.platforms).toEqual(["linux/arm64"]);
    expect(o.target).toBe("lock");
  });

  it("names every build arg the README lists", () => {
    expect(outline(spec(), planOptions()).args.map((a) => a.name)).toEqual([
      "BASE_IMAGE", "PREFIX", "LOCKFILE", "CONDA_CHANNEL_ALIAS",
      "CONDA_OVERRIDE_GLIBC", "CONDA_OVERRIDE_LINUX", "CONDA_OVERRIDE_CUDA", "CONDA_OVERRIDE_ARCHSPEC",
      "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_TRUSTED_HOST",
      "SOURCE_DATE_EPOCH", "CONDA_FRONTEND_TIMING",
    ]);
  });

  it("secrets: conda-auth is required with image.private-channels (at its line); pip-conf and netrc are optional, at the pip: list", () => {
    expect(outline(spec(), planOptions()).secrets.map((s) => [s.name, s.required, s.range?.start.line])).toEqual([
      ["conda-auth", true, 14],
      ["pip-conf", false, 7],
      ["netrc", false, 7],
    ]);
    const plain = outline(parseEnvironment("environment.yml", "dependencies: [python=3.12]\n"), planOptions());
    expect(plain.secrets.map((s) => [s.name, s.required, s.range])).toEqual([
      ["conda-auth", false, undefined],
      ["pip-conf", false, undefined],
      ["netrc", false, undefined],
    ]);
  });
});

describe("outline and targets of a pixi manifest", () => {
  const text = readFileSync(join(__dirname, "..", "fixtures", "pixi", "pixi.toml"), "utf8");
  const spec = parseInputSpec("pixi.toml", text, {});

  it("lists PIXI_ENVIRONMENT with the workspace's environments, defaulting to default", () => {
    const arg = outline(spec, planOptions()).args.find((a) => a.name === "PIXI_ENVIRONMENT")!;
    expect(arg).toMatchObject({ value: "default", description: "the pixi environment to build: default, extra" });
    const chosen = outline(spec, planOptions("build-arg:PIXI_ENVIRONMENT=extra")).args.find((a) => a.name === "PIXI_ENVIRONMENT")!;
    expect(chosen.value).toBe("extra");
  });

  it("names the environments in the image target's description, and has no such arg for environment.yml", () => {
    expect(targetList(spec).find((t) => t.name === "image")!.description).toMatch(/pixi environment PIXI_ENVIRONMENT names: default, extra$/);
    expect(targetList(undefined).find((t) => t.name === "image")!.description).not.toMatch(/pixi/);
  });
});
