// pixi workspaces in, the same slim image out: `-f pixi.toml` (and pyproject.toml's [tool.pixi])
// with the pixi.lock beside it (versions 6 and 7, written as rattler_lock writes them, over the
// fixture channel: test/fixtures/pixi), both environments of the workspace (PIXI_ENVIRONMENT),
// the lock's PyPI wheel installed as locked, activation.env as the image's ENV; without a lock the
// manifest is solved (with a warning); `-f pixi.lock` alone; errors at the line for bad TOML, an unknown environment, a
// platform the lock lacks and a lock version this frontend does not read.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { baseImage, build, cacheEngines, channelUrl, docker, engines, errorLine, header, inspectConfig, project, tag } from "./harness";

const fixtures = join(__dirname, "..", "fixtures", "pixi");
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8");

/** A fixture manifest with our # syntax= line and a base image the test machine has. */
function manifest(name: string): string {
  return header() + fixture(name).replace("[tool.conda-frontend.image]\n", `[tool.conda-frontend.image]\nbase = "${baseImage}"\n`);
}

const pipArgs = ["--build-arg", `PIP_FIND_LINKS=${channelUrl}/wheels/index.html`, "--build-arg", "PIP_NO_INDEX=1"];

describe.each(engines.map((e) => [e.name, e] as const))("pixi (%s)", (_, engine) => {
  const run = (t: string, code: string) => docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-I", "-c", code]);

  it("builds pixi.toml's default environment from pixi.lock v7: greet runs, the locked wheel imports, activation.env is ENV, no solve", () => {
    const dir = project({ "pixi.toml": manifest("pixi.toml"), "pixi.lock": fixture("pixi-v7.lock") });
    const t = tag("pixi-default");
    const res = build(engine, dir, ["--network=host", "-f", "pixi.toml", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).not.toMatch(/\[solve /);
    expect(res.output).toMatch(/\[pip\] install greetwheel 1\.0 \(locked wheels\)/);
    expect(res.output).not.toMatch(/no pixi\.lock beside/);
    const greet = docker(engine, ["run", "--rm", t]);
    expect(greet.code, greet.stderr).toBe(0);
    expect(greet.stdout).toContain("greet: prefix=/opt/conda");
    const py = run(t, "import os, sys, greetwheel; print(sys.version_info[:2] == (3, 12), greetwheel.hello(), os.environ['GREETING'])");
    expect(py.code, py.stderr).toBe(0);
    expect(py.stdout.trim()).toBe("True hello from greetwheel 1.0 hello");
    const config = inspectConfig(engine, t) as { Env: string[]; Labels: Record<string, string> };
    expect(config.Env).toContain("GREETING=hello");
    expect(config.Labels["org.opencontainers.image.title"]).toBe("greet-app");
  });

  it("builds the environment PIXI_ENVIRONMENT names (extra: greetpy, its own activation.env) from a v6 lock", () => {
    const dir = project({ "pixi.toml": manifest("pixi.toml"), "pixi.lock": fixture("pixi-v6.lock") });
    const t = tag("pixi-extra");
    const res = build(engine, dir, ["--network=host", "-f", "pixi.toml", "--build-arg", "PIXI_ENVIRONMENT=extra", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    const py = run(t, "import os, greetpy, greetwheel; print(greetpy.__name__, os.environ['GREETING'])");
    expect(py.code, py.stderr).toBe(0);
    expect(py.stdout.trim()).toBe("greetpy hello from extra");
  });
});

describe("pixi without a lock, and pixi errors (classic store)", () => {
  const engine = engines[0]!;

  it("solves pyproject.toml's [tool.pixi] without pixi.lock, says a committed lock makes it reproducible, and installs [project] dependencies with pip", () => {
    const dir = project({ "pyproject.toml": manifest("pyproject.toml") });
    const t = tag("pixi-pyproject");
    const res = build(engine, dir, ["--network=host", "-f", "pyproject.toml", ...pipArgs, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\[solve linux-64\]/);
    expect(res.output).toMatch(/no pixi\.lock beside pyproject\.toml: the environment is solved by this build; a committed pixi\.lock \(pixi lock\) makes the build reproducible/);
    const py = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-I", "-c", "import greetwheel; print(greetwheel.hello())"]);
    expect(py.stdout.trim()).toBe("hello from greetwheel 1.0");
  });

  it("builds -f pixi.lock alone (the # syntax= line a YAML comment on top, the base from BASE_IMAGE): the lock's packages and wheel", () => {
    const dir = project({ "pixi.lock": header() + fixture("pixi-v7.lock") });
    const t = tag("pixi-lock-only");
    const res = build(engine, dir, ["--network=host", "-f", "pixi.lock", "--build-arg", `BASE_IMAGE=${baseImage}`, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).not.toMatch(/\[solve /);
    const py = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-I", "-c", "import greetwheel; print(greetwheel.hello())"]);
    expect(py.stdout.trim()).toBe("hello from greetwheel 1.0");
  });

  const failing = (files: Record<string, string>, args: string[]) => {
    const res = build(engine, project(files), ["--network=host", "-f", "pixi.toml", "--output", "type=cacheonly", ...args, "."]);
    expect(res.code, res.output).not.toBe(0);
    return errorLine(res.output) ?? res.output;
  };

  it("fails bad TOML at its line", () => {
    const text = manifest("pixi.toml").replace('name = "greet-app"', 'name = "greet-app');
    const line = text.split("\n").findIndex((l) => l.startsWith('name = "greet-app')) + 1;
    expect(failing({ "pixi.toml": text }, [])).toMatch(new RegExp(`^pixi\\.toml:${line}: invalid TOML`));
  });

  it("fails an environment the workspace does not define, naming the ones it does", () => {
    expect(failing({ "pixi.toml": manifest("pixi.toml"), "pixi.lock": fixture("pixi-v7.lock") }, ["--build-arg", "PIXI_ENVIRONMENT=nope"])).toMatch(/pixi\.toml:\d+: .*nope.*default, extra|pixi\.toml:\d+: .*nope.*extra/);
  });

  it("fails a platform the lock lacks, saying how to lock it", () => {
    const text = manifest("pixi.toml").replace('platforms = ["linux-64"]', 'platforms = ["linux-64", "linux-aarch64"]');
    expect(failing({ "pixi.toml": text, "pixi.lock": fixture("pixi-v7.lock") }, ["--platform", "linux/arm64"])).toMatch(/pixi\.lock has no linux-aarch64 packages for environment default; run `pixi lock`/);
  });

  it("fails a lock version newer than it reads, at the version line", () => {
    const lock = fixture("pixi-v7.lock").replace(/^version: 7/, "version: 8");
    expect(failing({ "pixi.toml": manifest("pixi.toml"), "pixi.lock": lock }, [])).toMatch(/^pixi\.lock:1: pixi\.lock version 8 is newer than this frontend reads \(5-7\)/);
  });
});

describe("--call on a pixi manifest (buildx with --call)", () => {
  const on = cacheEngines.find((e) => docker(e, ["buildx", "build", "--help"]).stdout.includes("--call"));

  it("outline lists PIXI_ENVIRONMENT with the workspace's environments; targets names them under image", () => {
    expect(on, "no containerd-store engine whose buildx has --call").toBeDefined();
    const dir = project({ "pixi.toml": manifest("pixi.toml"), "pixi.lock": fixture("pixi-v7.lock") });
    const outline = build(on!, dir, ["-f", "pixi.toml", "--call", "outline,format=json", "--build-arg", "PIXI_ENVIRONMENT=extra", "."]);
    expect(outline.code, outline.output).toBe(0);
    const arg = (JSON.parse(outline.stdout) as { args: { name: string; value?: string; description?: string }[] }).args.find((a) => a.name === "PIXI_ENVIRONMENT")!;
    expect(arg).toMatchObject({ value: "extra", description: "the pixi environment to build: default, extra" });
    const targets = build(on!, dir, ["-f", "pixi.toml", "--call", "targets", "."]);
    expect(targets.code, targets.output).toBe(0);
    expect(targets.stdout).toMatch(/image \(default\) .*pixi environment PIXI_ENVIRONMENT names: default, extra/);
  });
});
