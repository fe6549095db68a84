// A token-protected channel (the fixture channel again, answering only with a header), reached
// with the conda-auth BuildKit secret: the token must work, and must not leak into the image.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allEngines, baseImage, build, daemonUp, docker, type Engine, engines, header, project, tag } from "./harness";

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

/** The secret as a file: the Authorization header's value (BuildKit's form), or header lines. */
function withSecret(dir: string, text = `Bearer ${token}`): string[] {
  const file = join(dir, "..", `${tag("auth")}.txt`);
  writeFileSync(file, text);
  return ["--secret", `id=conda-auth,src=${file}`];
}

/**
 * Builds the private environment into an image and checks it runs and holds no token.
 * `fresh`: --no-cache and the engine's cache mounts emptied first, so the download really runs
 * with this secret (secrets are not part of BuildKit's cache keys, and the install steps keep
 * archives in a cache mount: a cached download says nothing about the secret).
 */
function buildPrivate(on: Engine, secret: (dir: string) => string[], fresh = false) {
  const dir = project({ "environment.yml": envYml() });
  const t = tag("private");
  if (fresh) expect(docker(on, ["builder", "prune", "-f", "--filter", "type=exec.cachemount"]).code).toBe(0);
  const res = build(on, dir, ["--network=host", "-f", "environment.yml", ...secret(dir), ...(fresh ? ["--no-cache"] : []), "-t", t, "--load", "."]);
  expect(res.code, res.output).toBe(0);
  // The install step downloads it (and logs its size) when it is not in the cache mount yet.
  if (fresh) expect(res.output).toMatch(/greetpy-0\.2-\S+\.conda: \d+ bytes/);
  const run = docker(on, ["run", "--rm", "--entrypoint", "/opt/conda/bin/greetpy", t]);
  expect(run.code, run.output).toBe(0);
  expect(run.stdout).toContain("greetpy 0.2: Hello from greetpy 0.2");
  expect(res.output).not.toContain(token);
  return { res, t };
}

describe.each(allEngines)("private channels on $label", (on) => {
  it("the install step downloads with the conda-auth secret (the Authorization header's value)", () => {
    buildPrivate(on, (dir) => withSecret(dir), true);
  });
});

describe("private channels with the conda-auth secret (classic store)", () => {
  it("takes header lines in the secret", () => {
    buildPrivate(engine, (dir) => withSecret(dir, `Authorization: Bearer ${token}\n`), true);
  });

  it("takes a secret file that ends in a newline (as echo writes it)", () => {
    buildPrivate(engine, (dir) => withSecret(dir, `Bearer ${token}\n`), true);
  });

  it("solves and installs from a channel that needs a token, which stays out of the image", () => {
    const { t } = buildPrivate(engine, (dir) => withSecret(dir));
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
