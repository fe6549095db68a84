// environment.yml's pip: list, installed by the environment's own pip from a local find-links
// page (the fixture channel's wheels/), in its own layer above the conda packages.
import { describe, expect, it } from "vitest";
import { baseImage, build, channelUrl, daemonUp, docker, engines, header, project, tag } from "./harness";

const engine = engines[0]!;
const pipArgs = ["--build-arg", `PIP_FIND_LINKS=${channelUrl}/wheels/index.html`, "--build-arg", "PIP_NO_INDEX=1"];

/** BuildKit caches a solve by its request: a run-unique spec makes these solve against today's channel. */
const fresh = `greet-data >=0.0.${Date.now()}`;

function envYml(deps: string[], pip: string[]): string {
  return `${header()}name: pip-env
channels:
  - ${channelUrl}
dependencies:
${[...deps, fresh].map((d) => `  - ${d}`).join("\n")}
  - pip:
${pip.map((p) => `    - ${p}`).join("\n")}
image:
  base: ${baseImage}
`;
}

describe("pip: dependencies (classic store)", () => {
  it("installs them with the environment's pip, importable from the environment's python", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "pip"], ["greetwheel==1.0"]) });
    const t = tag("pip");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", ...pipArgs, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain("[pip] install greetwheel==1.0");
    const run = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import greetwheel, os; print(greetwheel.hello(), greetwheel.__file__, os.path.exists(greetwheel.__cached__))"]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout.trim()).toBe("hello from greetwheel 1.0 /opt/conda/lib/python3.12/site-packages/greetwheel/__init__.py True");
  });

  it("a requirement that does not exist fails naming it, at its line", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "pip"], ["no-such-wheel==9.9"]) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", ...pipArgs, "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/No matching distribution found for no-such-wheel==9\.9/);
    expect(res.output).toMatch(/\n\s*10 \| >>>\s+- no-such-wheel==9\.9/);
    expect(daemonUp(engine)).toBe(true);
  });

  it("a pip: list without pip in the environment is an error at its line", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12"], ["greetwheel"]) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", ...pipArgs, "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/environment\.yml:9: dependencies: the pip: list needs pip in the environment/);
  });
});
