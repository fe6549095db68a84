// Helpers for end-to-end tests: real `docker buildx build` against the engines started by
// scripts/e2e/setup.sh, the frontend image it pushed, and `docker run` of the results.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface Engine {
  name: "classic" | "containerd" | "docker28";
  /** For test titles: the engine's version and image store. */
  label: string;
  host: string;
  /** The docker CLI that drives it, and what that CLI needs in its environment. */
  cli: string;
  env: Record<string, string>;
  /** The containerd image store: merge ops, cache export, multi-platform images. */
  containerdStore: boolean;
}

const classic: Engine = { name: "classic", label: "Docker 26.1.5 (classic store)", host: "unix:///var/run/docker.sock", cli: "docker", env: {}, containerdStore: false };
const containerd: Engine = { name: "containerd", label: "Docker 26.1.5 (containerd store)", host: "unix:///var/run/docker-containerd.sock", cli: "docker", env: {}, containerdStore: true };
/** Debian sid's Docker 28.5.2 with its buildx 0.29, as scripts/e2e/start-engine.sh starts it. */
const engine28Dir = process.env.E2E_ENGINE28_DIR ?? "/opt/conda-frontend/docker-28";
const docker28: Engine = {
  name: "docker28",
  label: "Docker 28.5.2 (containerd store)",
  host: "unix:///var/run/docker-28.sock",
  cli: `${engine28Dir}/usr/bin/docker`,
  env: { DOCKER_CONFIG: "/etc/conda-frontend/docker-28-cli" },
  containerdStore: true,
};

/** The two Docker 26.1.5 engines (BuildKit v0.13): the whole suite runs on them. */
export const engines: Engine[] = [classic, containerd];
/** Every engine in the matrix: the core cases run on all of them. */
export const allEngines: Engine[] = [classic, containerd, docker28];
/** The engines whose docker driver exports caches (the containerd store). */
export const cacheEngines: Engine[] = allEngines.filter((e) => e.containerdStore);

export const frontendImage = process.env.E2E_FRONTEND_IMAGE ?? "localhost:5000/conda-frontend:test";
export const baseImage = "localhost:5000/distroless/base-debian12:nonroot";
export const nodeImage = "localhost:5000/distroless/nodejs24-debian12:latest";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for assertions on progress output. */
  output: string;
}

export function docker(engine: Engine, args: string[], opts: { cwd?: string; input?: string } = {}): Run {
  const res = spawnSync(engine.cli, args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: "utf8",
    env: { ...process.env, ...engine.env, DOCKER_HOST: engine.host, BUILDX_NO_DEFAULT_ATTESTATIONS: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = res.stdout ?? "";
  const stderr = res.stderr ?? "";
  return { code: res.status ?? -1, stdout, stderr, output: stdout + stderr };
}

/** `docker buildx build --progress=plain ...` in `dir`. */
export function build(engine: Engine, dir: string, args: string[], input?: string): Run {
  return docker(engine, ["buildx", "build", "--progress=plain", ...args], { cwd: dir, input });
}

/** The size summary, e.g. "environment /opt/conda: 42 MiB in ...": the name of a step of its own (frontend/notices.ts). */
const summaryLine = /environment \/\S*: [\d.]+ (B|KiB|MiB|GiB) in \d+ files? from \d+ packages?/;

/** A build whose size summary the test reads; it fails the test when the summary is missing. */
export function buildWithSummary(engine: Engine, dir: string, args: string[]): Run {
  const res = build(engine, dir, args);
  if (res.code === 0 && !summaryLine.test(res.output)) throw new Error(`the build printed no size summary:\n${res.output}`);
  return res;
}

/** A fresh folder with the given files (paths relative to it). */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "cf-e2e-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

export function header(image = frontendImage): string {
  return `# syntax=${image}\n`;
}

export function imageId(engine: Engine, tag: string): string {
  const r = docker(engine, ["image", "inspect", "--format", "{{.Id}}", tag]);
  if (r.code !== 0) throw new Error(r.output);
  return r.stdout.trim();
}

export function inspectConfig(engine: Engine, tag: string): Record<string, unknown> {
  const r = docker(engine, ["image", "inspect", "--format", "{{json .Config}}", tag]);
  if (r.code !== 0) throw new Error(r.output);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The daemon still answers: a bad input must never take it down. */
export function daemonUp(engine: Engine): boolean {
  return docker(engine, ["info", "--format", "{{.ServerVersion}}"]).code === 0;
}

/**
 * The error line buildx prints for a failed build, without its own prefix: what the user reads
 * first. The prefix is "ERROR: failed to solve: " ("failed to build: " before it from buildx 0.29
 * on), or "failed to run Build function: " in its place when the client's gateway loop returns the
 * frontend's error before the solve does: a race inside BuildKit's client (client/build.go).
 */
export function errorLine(output: string): string | undefined {
  const line = output.split("\n").find((l) => l.startsWith("ERROR: "));
  return line?.replace(/^ERROR: (failed to build: )?(failed to solve|failed to run Build function): /, "");
}

/** Each vertex of a plain-progress build log: its name (first line) and the lines after it. */
function progressVertices(output: string): { name: string; lines: string[] }[] {
  const byId = new Map<string, { name: string; lines: string[] }>();
  for (const line of output.split("\n")) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, id, rest] = m as unknown as [string, string, string];
    const v = byId.get(id);
    if (v) v.lines.push(rest);
    else byId.set(id, { name: rest, lines: [] });
  }
  return [...byId.values()];
}

/**
 * Vertex names of steps whose process printed something (plain progress shows a process's output
 * as "#N <seconds> <text>"): steps that really ran. Every step of ours prints. A result loaded
 * from a registry cache can end in DONE rather than CACHED, so executedSteps over-counts there.
 */
export function stepsThatPrinted(output: string): string[] {
  return progressVertices(output).filter((v) => v.lines.some((l) => /^\d+\.\d+ /.test(l))).map((v) => v.name);
}

/** Vertex names of steps that ran (not CACHED) in a plain-progress build log. */
export function executedSteps(output: string): string[] {
  return progressVertices(output).filter((v) => v.lines.some((l) => l.startsWith("DONE")) && !v.lines.includes("CACHED")).map((v) => v.name);
}

let counter = 0;
export function tag(name: string): string {
  return `cf-e2e-${name}-${process.pid}-${counter++}`;
}

/** The fixture conda channel (test/fixtures/channel), served by scripts/e2e/start-channel.sh. */
export const channelUrl = "http://127.0.0.1:8765";

/** Package name -> version for one platform of a conda-lock.yml. */
export function lockedVersions(lockText: string, platform = "linux-64"): Record<string, string> {
  const out: Record<string, string> = {};
  let current: { name?: string; version?: string; platform?: string } = {};
  const flush = () => {
    if (current.name && current.platform === platform) out[current.name] = current.version ?? "";
  };
  for (const line of lockText.split("\n")) {
    const item = /^ {2}- name: (.+)$/.exec(line);
    if (item) {
      flush();
      current = { name: item[1]!.trim() };
      continue;
    }
    const field = /^ {4}(version|platform): "?([^"]+)"?$/.exec(line);
    if (field) (current as Record<string, string>)[field[1]!] = field[2]!.trim();
  }
  flush();
  return out;
}
