// The build cache travels between machines (CI runners): export it with --cache-to (mode=max),
// empty the builder (docker builder prune -af, as on a fresh runner), import it with
// --cache-from. Nothing is solved, downloaded or installed again, the image is the same, and a
// lock with one package changed re-installs that package only. On the engines whose docker
// driver exports caches (the containerd store).
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { baseImage, build, cacheEngines, channelUrl, docker, type Engine, header, imageId, lockedVersions, project, type Run, stepsThatPrinted, tag } from "./harness";

const logDir = process.env.E2E_LOG_DIR ?? "/var/log/conda-frontend";

/** What the fixture channel served while `fn` ran (its log has one line per request). */
function channelRequests(fn: () => Run): { run: Run; requests: string[] } {
  const log = join(logDir, "channel.log");
  const before = readFileSync(log, "utf8").length;
  const run = fn();
  const requests = readFileSync(log, "utf8").slice(before).split("\n").filter((l) => / GET /.test(l)).map((l) => l.split(" GET ")[1]!.split(" ")[0]!);
  return { run, requests };
}

function envYml(greetpy: string): string {
  return `${header()}name: cached
channels:
  - ${channelUrl}
dependencies:
  - python=3.12
  - greet
  - greetpy=${greetpy}
image:
  base: ${baseImage}
`;
}

/** Steps of ours that ran: the solve, install, pip and private fetch steps. */
const workSteps = (output: string) => stepsThatPrinted(output).filter((s) => /^\[solve [^\]]+\] \d+ specs? from|^\[install\] \S+ \S+-\S+$|^\[pip\] install|^\[download\] .* \(private channel\)$/.test(s));

/** A folder with environment.yml and its conda-lock.yml, as a user commits them. */
function lockedProject(on: Engine, greetpy: string): string {
  const dir = project({ "environment.yml": envYml(greetpy) });
  const lock = build(on, dir, ["--network=host", "-f", "environment.yml", "--target", "lock", "--output", `type=local,dest=${join(dir, "out")}`, "."]);
  expect(lock.code, lock.output).toBe(0);
  copyFileSync(join(dir, "out/conda-lock.yml"), join(dir, "conda-lock.yml"));
  return dir;
}

describe.each(cacheEngines)("the build cache between machines on $label", (on) => {
  // A run-unique SOURCE_DATE_EPOCH per test keys every install step anew: each test's first build
  // really installs, whatever this engine's cache holds from earlier runs and tests.
  const now = Math.floor(Date.now() / 1000);
  const epoch = (n: number) => ["--build-arg", `SOURCE_DATE_EPOCH=${now - n}`];
  const registryRef = `localhost:5000/cf-e2e-cache:${on.name}-${process.pid}`;
  const localDir = mkdtempSync(join(tmpdir(), "cf-cache-"));
  const caches = [
    { type: "registry", to: `type=registry,ref=${registryRef},mode=max`, from: `type=registry,ref=${registryRef}`, epoch: epoch(1) },
    { type: "local", to: `type=local,dest=${localDir},mode=max`, from: `type=local,src=${localDir}`, epoch: epoch(2) },
  ];

  it.each(caches)("a pruned builder importing the $type cache runs no solve, download or install step and makes the identical image", (cache) => {
    const dir = project({ "environment.yml": envYml("0.2") + "  app:\n    copy: [app.py]\n", "app.py": "print('hi')\n" });
    const first = tag("cache");
    const exported = build(on, dir, ["--network=host", "-f", "environment.yml", ...cache.epoch, "--cache-to", cache.to, "-t", first, "--load", "."]);
    expect(exported.code, exported.output).toBe(0);
    expect(workSteps(exported.output).length, exported.output).toBeGreaterThan(5);

    expect(docker(on, ["builder", "prune", "-af"]).code).toBe(0);
    const second = tag("cache");
    const { run: imported, requests } = channelRequests(() => build(on, dir, ["--network=host", "-f", "environment.yml", ...cache.epoch, "--cache-from", cache.from, "-t", second, "--load", "."]));
    expect(imported.code, imported.output).toBe(0);
    expect(imported.output).toMatch(/importing cache manifest from/);
    expect(workSteps(imported.output), imported.output).toEqual([]);
    // Not one request reached the channel: no repodata (no solve), no package (no download).
    expect(requests).toEqual([]);
    expect(imageId(on, second)).toBe(imageId(on, first));
  });

  it("a lock with one package changed, on a pruned builder importing the cache, re-installs that package only", () => {
    const dir = lockedProject(on, "0.2");
    const newer = lockedProject(on, "0.1");
    const cacheRef = `${registryRef}-lock`;
    const first = build(on, dir, ["--network=host", "-f", "environment.yml", ...epoch(3), "--cache-to", `type=registry,ref=${cacheRef},mode=max`, "."]);
    expect(first.code, first.output).toBe(0);
    expect(first.output).not.toContain("[solve");

    // The user pins greetpy=0.1 and commits the refreshed lock: one package differs.
    const before = lockedVersions(readFileSync(join(dir, "conda-lock.yml"), "utf8"));
    const after = lockedVersions(readFileSync(join(newer, "conda-lock.yml"), "utf8"));
    expect(Object.keys(after).filter((n) => after[n] !== before[n])).toEqual(["greetpy"]);
    copyFileSync(join(newer, "environment.yml"), join(dir, "environment.yml"));
    copyFileSync(join(newer, "conda-lock.yml"), join(dir, "conda-lock.yml"));

    expect(docker(on, ["builder", "prune", "-af"]).code).toBe(0);
    const { run: changed, requests } = channelRequests(() => build(on, dir, ["--network=host", "-f", "environment.yml", ...epoch(3), "--cache-from", `type=registry,ref=${cacheRef}`, "."]));
    expect(changed.code, changed.output).toBe(0);
    expect(workSteps(changed.output), changed.output).toEqual([expect.stringMatching(/^\[install\] greetpy 0\.1-/)]);
    // Its archive is downloaded; so is python's, which a noarch package's step reads for
    // python's version and site-packages (a download BuildKit's cache does not carry).
    expect(requests.filter((r) => !/\/python-3\.12/.test(r))).toEqual([expect.stringMatching(/^\/noarch\/greetpy-0\.1-/)]);
  });
});
