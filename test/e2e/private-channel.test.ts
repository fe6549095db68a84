// A token-protected channel (the fixture channel again, answering only with a header), reached
// with the conda-auth BuildKit secret: the token must work, and must not leak into the image.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { baseImage, build, daemonUp, docker, engines, header, project, tag } from "./harness";

const engine = engines[0]!;
const privateUrl = "http://127.0.0.1:8769";
const token = "conda-frontend-test-token";

function envYml(listed = true, extra = ""): string {
  return `${header()}name: private
channels:
  - ${privateUrl}
dependencies:
  - python=3.12
  - greetpy=0.2${extra}
image:
  base: ${baseImage}
${listed ? `  private-channels: [${privateUrl}]\n` : ""}`;
}

function withSecret(dir: string): string[] {
  const file = join(dir, "..", `${tag("auth")}.txt`);
  writeFileSync(file, `Authorization: Bearer ${token}\n`);
  return ["--secret", `id=conda-auth,src=${file}`];
}

describe("private channels with the conda-auth secret (classic store)", () => {
  it("solves and installs from a channel that needs a token, which stays out of the image", () => {
    const dir = project({ "environment.yml": envYml() });
    const t = tag("private");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", ...withSecret(dir), "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\[download\] greetpy 0\.2 from http:\/\/127\.0\.0\.1:8769\/noarch\/greetpy-0\.2-\S+ \(private channel\)/);
    const run = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/greetpy", t]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain("greetpy 0.2: Hello from greetpy 0.2");
    expect(res.output).not.toContain(token);
    const inspect = docker(engine, ["image", "inspect", t]).stdout + docker(engine, ["history", "--no-trunc", t]).stdout;
    expect(inspect).not.toContain(token);
    const meta = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import glob; print(''.join(open(f).read() for f in glob.glob('/opt/conda/conda-meta/*')))"]);
    expect(meta.code).toBe(0);
    expect(meta.stdout).not.toContain(token);
  });

  it("without the secret, says how to pass it", () => {
    // Secrets are not part of BuildKit's cache keys: a run-unique spec makes the solve run.
    const dir = project({ "environment.yml": envYml(true, `\n  - greet-data >=0.0.${Date.now()}`) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/conda-auth/);
    expect(daemonUp(engine)).toBe(true);
  });

  it("a channel that answers 401 but is not listed as private: the error says to list it", () => {
    const dir = project({ "environment.yml": envYml(false) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", ...withSecret(dir), "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/HTTP 401; if the channel needs a token, list it in image\.private-channels and pass the conda-auth secret/);
  });

  it("refuses credentials written into environment.yml", () => {
    const dir = project({ "environment.yml": envYml(false) + `  private-channels: [https://user:pw@repo.example.com/c]\n` });
    const res = build(engine, dir, ["-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/environment\.yml:10: image\.private-channels: expected a channel URL without credentials/);
  });
});
