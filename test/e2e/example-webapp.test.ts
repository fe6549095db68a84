// examples/webapp end to end: conda packages, a pip package from a local wheel page and the app's
// code in a distroless image; `docker run -p` answers HTTP as uid 65532, the exec-form
// healthcheck turns healthy without a shell, and nothing the default prune preset removes is left.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allEngines, build, buildWithSummary, docker, executedSteps, inspectConfig, type Run, tag } from "./harness";

const example = resolve(__dirname, "../../examples/webapp");

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, seconds = 60): Promise<T> {
  for (let i = 0; i < seconds * 4; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(allEngines)("examples/webapp on $label", (engine) => {
  const t = tag("webapp");
  let dir: string;
  let first: Run;
  let container = "";

  beforeAll(() => {
    // A copy, so the code-change test can edit it.
    dir = mkdtempSync(join(tmpdir(), "cf-webapp-"));
    cpSync(example, dir, { recursive: true });
    first = buildWithSummary(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
  }, 600_000);

  afterAll(() => {
    if (container) docker(engine, ["rm", "-f", container]);
  });

  it("builds, and reports the environment's size and what pruning left out", () => {
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain("[pip] install --no-index --find-links http://127.0.0.1:8765/wheels/index.html greetwheel==1.0");
    expect(first.output).toMatch(/environment \/opt\/conda: [\d.]+ MiB in \d+ files from \d+ packages and pip's packages; image\.prune \(safe\) left out/);
    // Nothing of the install steps' requests reaches the image's config.
    expect(JSON.stringify(inspectConfig(engine, t))).not.toContain("CONDA_FRONTEND_INSTALL_REQUEST");
  });

  it("answers HTTP on the published port, as uid 65532, and turns healthy through its exec-form check", async () => {
    const run = docker(engine, ["run", "-d", "-p", "127.0.0.1::8000", t]);
    expect(run.code, run.output).toBe(0);
    container = run.stdout.trim();
    const port = docker(engine, ["port", container, "8000/tcp"]).stdout.trim().split(":").at(-1);
    const body = await waitFor("the service", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      return r.ok ? ((await r.json()) as { wheel: string; program: string; uid: number }) : undefined;
    });
    expect(body.wheel).toBe("hello from greetwheel 1.0");
    expect(body.program).toContain("greet: libgreet=2.0");
    expect(body.uid).toBe(65532);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);

    const health = await waitFor("healthy", async () => {
      const s = docker(engine, ["inspect", "--format", "{{.State.Health.Status}}", container]).stdout.trim();
      return s === "healthy" ? s : undefined;
    });
    expect(health).toBe("healthy");
    const config = inspectConfig(engine, t) as { User: string; ExposedPorts: Record<string, unknown>; Healthcheck: { Test: string[] } };
    expect(config.User).toBe("65532:65532");
    expect(Object.keys(config.ExposedPorts)).toEqual(["8000/tcp"]);
    expect(config.Healthcheck.Test).toEqual(["CMD", "/opt/conda/bin/python", "/app/healthcheck.py"]);
  }, 120_000);

  it("has no shell, no package cache, no include/ and no static libraries", () => {
    const sh = docker(engine, ["run", "--rm", "--entrypoint", "sh", t]);
    expect(sh.code).not.toBe(0);
    expect(sh.output).toMatch(/"sh": executable file not found/);
    const leftovers = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", `
import os
found = [os.path.join(r, f) for r, d, fs in os.walk("/") if not r.startswith(("/proc", "/sys", "/dev")) for f in fs
         if f.endswith(".a") or "/include/" in os.path.join(r, f) or "/pkgs/" in r or "/.cache/" in r]
print(len(found), found[:5])
for d in ("/opt/conda/pkgs", "/opt/conda/include", "/root/.cache/pip"):
    print(d, os.path.exists(d))
`]);
    expect(leftovers.code, leftovers.output).toBe(0);
    // The base image's own /usr/include is absent too (distroless carries none).
    expect(leftovers.stdout.trim().split("\n")).toEqual(["0 []", "/opt/conda/pkgs False", "/opt/conda/include False", "/root/.cache/pip False"]);
  });

  it("a code-only change rebuilds without re-running any conda or pip step", () => {
    const server = join(dir, "server.py");
    writeFileSync(server, readFileSync(server, "utf8").replace('"uid": os.getuid()', '"uid": os.getuid(), "version": 2'));
    const second = build(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(second.code, second.output).toBe(0);
    const ran = executedSteps(second.output);
    expect(ran.filter((s) => /^\[install\] \S+ \S+-\S+$|^\[solve [^\]]+\] \d+ specs? from|^\[pip\] install/.test(s)), second.output).toEqual([]);
    const code = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "print(open('/app/server.py').read().count('\"version\": 2'))"]);
    expect(code.stdout.trim()).toBe("1");
  });
});
