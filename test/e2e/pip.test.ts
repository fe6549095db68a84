// environment.yml's pip: list, installed by the environment's own pip from a local find-links
// page (the fixture channel's wheels/), in its own layer above the conda packages.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pythonApp } from "../fixtures/python-app";
import { baseImage, build, buildWithSummary, channelUrl, daemonUp, docker, engines, executedSteps, header, project, tag } from "./harness";

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
    const res = buildWithSummary(engine, dir, ["--network=host", "-f", "environment.yml", ...pipArgs, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain("[pip] install greetwheel==1.0");
    // The summary counts pip's own files once (not the conda packages' dist-info again): it
    // matches what the image holds.
    const summary = /environment \/opt\/conda: ([\d.]+) MiB in (\d+) files from \d+ packages and pip's packages/.exec(res.output);
    expect(summary, res.output).not.toBeNull();
    const held = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import os; fs = [os.path.join(r, f) for r, d, n in os.walk('/opt/conda') for f in n]; print(len(fs), sum(os.lstat(f).st_size for f in fs if os.path.isfile(f) and not os.path.islink(f)))"]).stdout.trim().split(" ").map(Number);
    expect(Math.abs(Number(summary![1]) * 2 ** 20 - held[1]!) / held[1]!).toBeLessThan(0.05);
    expect(Math.abs(Number(summary![2]) - held[0]!)).toBeLessThan(10); // conda-meta/history and state
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

describe("pip index credentials as BuildKit secrets (classic store)", () => {
  // The fixture channel's private copy: it answers only with the token (as Bearer, or as the
  // password of HTTP Basic, which is what pip sends).
  const token = "conda-frontend-test-token";
  const privateLinks = "http://127.0.0.1:8769/wheels/index.html";
  const secretFile = (name: string, text: string) => {
    const file = join(project({}), name);
    writeFileSync(file, text);
    return file;
  };
  const noToken = (engineOutput: string, t: string) => {
    expect(engineOutput).not.toContain(token);
    expect(docker(engine, ["image", "inspect", t]).stdout + docker(engine, ["history", "--no-trunc", t]).stdout).not.toContain(token);
    const saved = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", `
import os
hits = []
for r, d, fs in os.walk("/"):
    if r.startswith(("/proc", "/sys", "/dev")): continue
    for f in fs:
        p = os.path.join(r, f)
        try:
            if os.path.isfile(p) and not os.path.islink(p) and b"${token}" in open(p, "rb").read(): hits.append(p)
        except OSError: pass
print(hits)`]);
    expect(saved.stdout.trim()).toBe("[]");
  };

  it("without credentials the private index refuses pip", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "pip"], ["greetwheel==1.0"]) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--build-arg", `PIP_FIND_LINKS=${privateLinks}`, "--build-arg", "PIP_NO_INDEX=1", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/No matching distribution found for greetwheel==1\.0/);
  });

  it("a pip.conf as the pip-conf secret may carry the token; it reaches no layer", () => {
    const conf = secretFile("pip.conf", `[global]\nno-index = true\nfind-links = http://token:${token}@127.0.0.1:8769/wheels/index.html\n`);
    const dir = project({ "environment.yml": envYml(["python=3.12", "pip"], ["greetwheel==1.0"]) });
    const t = tag("pip-conf");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--secret", `id=pip-conf,src=${conf}`, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import greetwheel; print(greetwheel.hello())"]).stdout.trim()).toBe("hello from greetwheel 1.0");
    noToken(res.output, t);
  });

  it("a .netrc as the netrc secret logs pip in by host", () => {
    const netrc = secretFile("netrc", `machine 127.0.0.1 login token password ${token}\n`);
    const dir = project({ "environment.yml": envYml(["python=3.12", "pip"], ["greetwheel==1.0"]) });
    const t = tag("pip-netrc");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--build-arg", `PIP_FIND_LINKS=${privateLinks}`, "--build-arg", "PIP_NO_INDEX=1", "--secret", `id=netrc,src=${netrc}`, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import greetwheel; print(greetwheel.hello())"]).stdout.trim()).toBe("hello from greetwheel 1.0");
    noToken(res.output, t);
  });
});

// Both stores: layers stacked by copies (the app installed into the image with its app layer) and
// by merge ops (installed into the environment, the app layer stacked above it).
describe.each(engines)("app.install: pip on the $name store", (engine) => {
  const main = (greeting: string) => `def run():\n    print("${greeting}")\n`;
  const env = `${header()}name: app-env
channels:
  - ${channelUrl}
dependencies:
  - python=3.12
  - pip
  - ${`greet-data >=0.0.${Date.now()}`}
image:
  base: localhost:5000/distroless/base-debian12:nonroot
  entrypoint: ["/opt/conda/bin/webapp"]
  app:
    copy: [pyproject.toml, buildtool, webapp]
    install: pip
`;

  it("installs the app into the environment, and a code change re-runs no conda or pip step", () => {
    const dir = project({ "environment.yml": env, ...pythonApp("webapp", main("webapp 1")) });
    const t = tag("appinstall");
    const first = build(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(first.code, first.output).toBe(0);
    expect(docker(engine, ["run", "--rm", t]).stdout.trim()).toBe("webapp 1");

    writeFileSync(join(dir, "webapp/main.py"), main("webapp 2"));
    const second = build(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(second.code, second.output).toBe(0);
    expect(docker(engine, ["run", "--rm", t]).stdout.trim()).toBe("webapp 2");
    const ran = executedSteps(second.output);
    // No install, solve or pip step ran (file ops and cached downloads may still list as DONE).
    expect(ran.filter((s) => /^\[install\] \S+ \S+-\S+$|^\[solve [^\]]+\] \d+ specs? from|^\[pip\] install/.test(s)), second.output).toEqual([]);
    expect(ran).toContain("[app] pip install --no-deps /app");
    // The image's history names its layers bottom to top, as they are stacked on this store.
    const history = docker(engine, ["image", "history", "--no-trunc", "--format", "{{json .CreatedBy}}", t]).stdout.trim().split("\n").map((l) => JSON.parse(l) as string).reverse();
    const top = history.filter((h) => h.startsWith("conda-frontend: ")).slice(-2).map((h) => h.replace("conda-frontend: ", "").split(" ")[0]);
    expect(top, history.join("\n")).toEqual(engine.name === "classic" ? ["copy", "pip"] : ["pip", "copy"]);
  });
});
