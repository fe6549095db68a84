// The reader an input file takes by its name, the lock looked for beside it, and a lock read by its name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conventionalLockNameFor, parseInputSpec, pixiEnvironment, readAnyLock } from "../../src/input/input-spec";

const pixi = (name: string) => readFileSync(join(__dirname, "..", "fixtures", "pixi", name), "utf8");

describe("parseInputSpec", () => {
  it("reads environment.yml (and any other name) as conda's YAML", () => {
    const spec = parseInputSpec("environment.yml", "channels: [conda-forge]\ndependencies: [python=3.12]\n", {});
    expect(spec.pixi).toBe(false);
    expect(spec.dependencies.map((d) => d.value)).toEqual(["python=3.12"]);
  });

  it("reads pixi.toml as a pixi manifest, of the environment PIXI_ENVIRONMENT names", () => {
    const spec = parseInputSpec("pixi.toml", pixi("pixi.toml"), { PIXI_ENVIRONMENT: "extra" });
    expect(spec.pixi).toBe(true);
    expect(spec.dependencies.some((d) => /(^|::)greetpy( |$)/.test(d.value))).toBe(true);
    expect(parseInputSpec("pixi.toml", pixi("pixi.toml"), {}).dependencies.some((d) => d.value.includes("greetpy"))).toBe(false);
  });

  it("reads pyproject.toml's [tool.pixi] the same way", () => {
    expect(parseInputSpec("pyproject.toml", pixi("pyproject.toml"), {}).pip.map((p) => p.value)).toContain("greetwheel==1.0");
  });

  it("takes -f pixi.lock as a lock alone: nothing to solve, the default image settings", () => {
    const spec = parseInputSpec("pixi.lock", pixi("pixi-v7.lock"), {});
    expect(spec.dependencies).toEqual([]);
    expect(spec.image.base).toBeUndefined();
  });
});

describe("the lock beside the input file", () => {
  it("is pixi.lock beside a pixi manifest, the input itself for -f pixi.lock, conda-lock.yml otherwise", () => {
    expect(conventionalLockNameFor("pixi.toml")).toBe("pixi.lock");
    expect(conventionalLockNameFor("pyproject.toml")).toBe("pixi.lock");
    expect(conventionalLockNameFor("pixi.lock")).toBe("pixi.lock");
    expect(conventionalLockNameFor("environment.yml")).toBe("conda-lock.yml");
    expect(conventionalLockNameFor("Dockerfile")).toBe("conda-lock.yml");
  });
});

describe("readAnyLock", () => {
  it("reads a file named pixi.lock as pixi.lock, for PIXI_ENVIRONMENT", () => {
    const lock = readAnyLock("pixi.lock", pixi("pixi-v7.lock"), ["linux-64"], { PIXI_ENVIRONMENT: "extra" });
    expect(lock.packages.some((p) => p.name === "greetpy")).toBe(true);
    expect(lock.packages.filter((p) => p.manager === "pip").map((p) => p.name)).toEqual(["greetwheel"]);
    expect(pixiEnvironment({})).toBe("default");
  });

  it("reads other names as conda-lock.yml or @EXPLICIT", () => {
    const explicit = "# platform: linux-64\n@EXPLICIT\nhttp://127.0.0.1:8765/linux-64/zlib-1.2.13-h1a77b30_0.conda#" + "0".repeat(32) + "\n";
    expect(readAnyLock("explicit.txt", explicit, ["linux-64"], {}).packages.map((p) => p.name)).toEqual(["zlib"]);
  });
});
