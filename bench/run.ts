// `npm run bench`: measures what the issues set targets for, on this machine, and writes
// docs/benchmarks.md. Needs the engines, registry and frontend image (scripts/e2e/setup.sh).
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { installProcessEnv } from "../src/conda/install-request";
import { generateInstallChannel } from "./install-channel";
import { type BenchEngine, ciRunnerTable } from "./ci-runner";
import { recipeComparison } from "./recipe";
import { rebuildSpeedSection } from "./rebuild-speed";
import { multiPlatformSection } from "./multi-platform";
import { generateChannel } from "./solve-channel";
import { zerosPackage } from "../test/fixtures/channel/hostile";

const root = join(import.meta.dirname, "..");
const require = createRequire(import.meta.url);
const runs = Number(process.env.BENCH_RUNS ?? 7);

function sh(args: string[], cwd: string, input?: string) {
  const t0 = performance.now();
  const r = spawnSync("docker", args, { cwd, input, encoding: "utf8", env: { ...process.env, BUILDX_NO_DEFAULT_ATTESTATIONS: "1" } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  return { ms, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** One decimal: a row held against "< 10%" must not round 10.2% down to 10%. */
const percentOf = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const met = (ok: boolean) => (ok ? "met" : "not met");

interface Row {
  what: string;
  value: string;
  target?: string;
}

/**
 * One warm-up build, then `runs` fully cached ones: wall times and the frontend's own times.
 * `afterEach` runs after every timed build (a comparison build that should see the same machine).
 */
function timedRebuilds(args: string[], dir: string, afterEach?: () => void): { walls: number[]; frontend: number[] } {
  sh(args, dir);
  const walls: number[] = [];
  const frontend: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ms, out } = sh(args, dir);
    walls.push(ms);
    const m = /start-to-return ([\d.]+) ms/.exec(out);
    if (m) frontend.push(Number(m[1]));
    afterEach?.();
  }
  return { walls, frontend };
}

/**
 * The frontend alone: an environment without dependencies (base + app), fully cached, each build
 * followed by a cached build of the same image through Docker's own Dockerfile frontend, so both
 * see the same machine (this VM's speed drifts between runs).
 */
function foundationRebuilds(): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-app-"));
  writeFileSync(join(dir, "app.py"), "print('hi')\n");
  writeFileSync(join(dir, "environment.yml"), "# syntax=localhost:5000/conda-frontend:test\nname: app\ndependencies: []\nimage:\n  base: localhost:5000/distroless/base-debian12:nonroot\n  env: {MODE: prod}\n  app:\n    copy: [app.py]\n");
  writeFileSync(join(dir, "Dockerfile"), "FROM localhost:5000/distroless/base-debian12:nonroot\nWORKDIR /app\nCOPY app.py /app/app.py\nENV MODE=prod\nUSER 65532:65532\n");
  const args = ["buildx", "build", "--progress=plain", "-f", "environment.yml", "--build-arg", "CONDA_FRONTEND_TIMING=1", "-t", "cf-bench-app", "--load", "."];
  const dfArgs = ["buildx", "build", "--progress=plain", "-f", "Dockerfile", "-t", "cf-bench-dockerfile", "--load", "."];
  sh(dfArgs, dir);
  const dockerfile: number[] = [];
  const { walls, frontend } = timedRebuilds(args, dir, () => dockerfile.push(sh(dfArgs, dir).ms));
  return [
    { what: `fully cached rebuild, no conda dependencies (base + env + app copy), wall, median of ${runs}`, value: fmt(median(walls)), target: "<= 400 ms" },
    { what: `the same: frontend process start to Return, median of ${frontend.length}`, value: fmt(median(frontend)), target: "<= 150 ms" },
    { what: `for scale: the same image as a Dockerfile through Docker's built-in frontend, cached, each run right after one of ours, median of ${runs}`, value: fmt(median(dockerfile)) },
  ];
}

function cachedRebuilds(): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-"));
  cpSync(join(root, "examples/hello"), dir, { recursive: true });
  const args = ["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "--build-arg", "CONDA_FRONTEND_TIMING=1", "-t", "cf-bench-hello", "--load", "."];
  const { walls, frontend } = timedRebuilds(args, dir);
  return [
    { what: `fully cached rebuild of examples/hello (python + 15 packages: solve, install and .pyc all cached), wall, median of ${runs}`, value: fmt(median(walls)) },
    { what: `the same: frontend process start to Return, median of ${frontend.length}`, value: fmt(median(frontend)) },
  ];
}

/**
 * Serves a folder on 127.0.0.1 from a child process (the fixture channel's server): the builds
 * below block this process while the solve step fetches repodata.
 */
async function serve(dir: string, port: number): Promise<{ close(): void }> {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "test/fixtures/channel/serve.ts"), dir, String(port)], { stdio: "ignore", cwd: root });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (ok) return { close: () => child.kill() };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`the channel server on port ${port} did not start`);
}

async function solveBenchmark(): Promise<Row[]> {
  const dir = join(root, ".e2e/bench-channel");
  rmSync(dir, { recursive: true, force: true });
  const channel = generateChannel(dir);
  const port = 8766;
  const server = await serve(dir, port);
  const work = mkdtempSync(join(tmpdir(), "cf-bench-solve-"));
  const request = {
    specs: channel.roots,
    channels: [{ name: "bench", url: `http://127.0.0.1:${port}` }],
    platforms: [{ subdir: "linux-64", virtualPackages: [{ name: "__glibc", version: "2.36", build: "0" }, { name: "__unix", version: "0", build: "0" }], contentHash: "bench" }],
    sources: ["environment.yml"],
  };
  writeFileSync(join(work, "request.json"), JSON.stringify(request));
  const walls: number[] = [];
  const rss: number[] = [];
  let packages = 0;
  for (let i = 0; i < 3; i++) {
    rmSync(join(work, "out"), { recursive: true, force: true });
    mkdirSync(join(work, "out"));
    // GNU time's %M: the child's peak resident memory in KiB; the solver runs as in the build step.
    const t0 = performance.now();
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = require("node:child_process").spawn("/usr/bin/time", ["-f", "peak-rss-kib=%M", process.execPath, join(root, "dist/cli.cjs"), "solve", join(work, "request.json"), join(work, "out")]);
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      child.on("close", (code: number) => resolve({ code, stderr }));
    });
    walls.push(performance.now() - t0);
    if (r.code !== 0) throw new Error(`solve failed:\n${r.stderr}`);
    rss.push(Number(/peak-rss-kib=(\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024);
    packages = JSON.parse(readFileSync(join(work, "out/result.json"), "utf8")).packages["linux-64"];
  }
  server.close();
  return [
    { what: `solve of ${request.specs.length} specs on a generated channel of ${channel.records} records (${packages} packages in the solution): wall incl. repodata fetch + parse, median of 3`, value: fmt(median(walls)), target: "<= 3 s" },
    { what: "peak memory of the solve tool (max RSS), median of 3", value: `${median(rss).toFixed(0)} MiB`, target: "<= 1 GiB" },
  ];
}

function dirBytes(dir: string): number {
  const r = spawnSync("du", ["-sb", dir], { encoding: "utf8" });
  return Number(r.stdout.split(/\s/)[0]);
}

/** The installer's time for one package, and its peak memory, in a process of its own with the step's environment. */
function installRun(archive: string, out: string, sha256: string, md5: string): { ms: number; maxRssKiB: number } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "bench/install-once.ts"), archive, out, sha256, md5], { encoding: "utf8", env: { ...process.env, ...installProcessEnv } });
  if (r.status !== 0) throw new Error(`install-once failed: ${r.stderr}`);
  const [ms, rss] = r.stdout.trim().split("\n").map(Number);
  return { ms: ms!, maxRssKiB: rss! };
}

const installOnce = (archive: string, out: string, sha256: string, md5: string): number => installRun(archive, out, sha256, md5).ms;

/**
 * The install step's peak memory on a package whose payload is 3 GiB (one file of zeros, made
 * by streaming: test/fixtures/channel/hostile.ts), against CPython's package: the installer
 * streams, so it must not grow with the package.
 */
async function installerMemory(): Promise<Row[]> {
  const work = mkdtempSync(join(tmpdir(), "cf-bench-mem-"));
  try {
    const huge = await zerosPackage("threegib", 3 * 2 ** 30, "threegib: 3 GiB of zeros, for the installer's memory benchmark.\n");
    const archive = join(work, huge.filename);
    writeFileSync(archive, huge.bytes);
    const sha256 = createHash("sha256").update(huge.bytes).digest("hex");
    const md5 = createHash("md5").update(huge.bytes).digest("hex");
    const runs: { ms: number; maxRssKiB: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const out = join(work, `out${i}`);
      runs.push(installRun(archive, out, sha256, md5));
      rmSync(out, { recursive: true, force: true });
    }
    const python = join(root, ".e2e/channel/linux-64/python-3.12.1-hbac6bf3_0_cpython.conda");
    const pyBytes = readFileSync(python);
    const py = installRun(python, join(work, "py"), createHash("sha256").update(pyBytes).digest("hex"), createHash("md5").update(pyBytes).digest("hex"));
    const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
    const rss = runs.map((r) => r.maxRssKiB).sort((a, b) => a - b);
    const worst = rss.at(-1)!;
    return [
      { what: `peak RSS of the install step on a generated package with a 3 GiB payload (${(huge.bytes.length / 1024).toFixed(0)} KiB .conda), 3 runs, each a fresh process: median (min-max)`, value: `${mib(rss[1]!)} (${mib(rss[0]!)}-${mib(worst)}), took ${fmt(median(runs.map((r) => r.ms)))}`, target: `<= 256 MiB: ${worst <= 256 * 1024 ? "met" : "not met"}` },
      { what: "peak RSS of the install step on the fixture's CPython package (7.9 MB .conda, 27 MB installed), for comparison", value: mib(py.maxRssKiB) },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Runs per side of the throughput rows. The ratio of medians of 7 moved between 1.37x and 1.81x
 * in four runs within an hour on this VM (both sides move; tar's from 60 to 73 ms): 15 steady it.
 */
const throughputRuns = 15;

/** Installer and `tar --zstd -x` on the same package, interleaved, writing under `dir`. */
function extractionTimes(archive: string, dir: string): { ours: number[]; tars: number[]; extracted: number } {
  const bytes = readFileSync(archive);
  // The step gets both hashes from the lock; so does this call.
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const md5 = createHash("md5").update(bytes).digest("hex");
  const work = mkdtempSync(join(dir, "cf-bench-tp-"));
  // The same bytes through unzip + tar --zstd -x: the lower bound for getting them on disk.
  const zipDir = join(work, "zip");
  mkdirSync(zipDir);
  spawnSync("unzip", ["-q", archive, "-d", zipDir]);
  // Interleaved, with the page cache written back before each run: disk writeback on this
  // machine is noisy, and both sides must see the same conditions.
  const ours: number[] = [];
  const tars: number[] = [];
  let extracted = 0;
  for (let i = 0; i < throughputRuns; i++) {
    const out = join(work, `ours${i}`);
    spawnSync("sync");
    ours.push(installOnce(archive, out, sha256, md5));
    extracted = dirBytes(out);
    rmSync(out, { recursive: true, force: true });
    const tarOut = join(work, `tar${i}`);
    mkdirSync(tarOut);
    spawnSync("sync");
    const t0 = performance.now();
    const r = spawnSync("bash", ["-c", `tar --zstd -xf ${zipDir}/pkg-*.tar.zst -C ${tarOut} && tar --zstd -xf ${zipDir}/info-*.tar.zst -C ${tarOut}`]);
    tars.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    rmSync(tarOut, { recursive: true, force: true });
  }
  rmSync(work, { recursive: true, force: true });
  return { ours, tars, extracted };
}

async function installerThroughput(): Promise<Row[]> {
  const archive = join(root, ".e2e/channel/linux-64/python-3.12.1-hbac6bf3_0_cpython.conda");
  const rows: Row[] = [];
  // On disk (where build steps write) and on a tmpfs (no writeback: the CPU work alone).
  for (const [where, dir] of [["disk", tmpdir()], ["tmpfs", "/dev/shm"]] as const) {
    const { ours, tars, extracted } = extractionTimes(archive, dir);
    const mbs = (ms: number) => `${(extracted / 2 ** 20 / (ms / 1000)).toFixed(0)} MB/s`;
    const size = (statSync(archive).size / 2 ** 20).toFixed(1);
    rows.push(
      { what: `${where} (${dir}): installer on the fixture's python package (${size} MB .conda, ${(extracted / 2 ** 20).toFixed(1)} MB installed: verify, extract, patch prefixes, write, conda-meta; no .pyc), each in a fresh process with the step's environment (Node's start not counted), median of ${throughputRuns} (min-max ${fmt(Math.min(...ours))}-${fmt(Math.max(...ours))})`, value: `${fmt(median(ours))} (${mbs(median(ours))})` },
      { what: `${where}: plain \`tar --zstd -x\` of the same archive's two tars, median of ${throughputRuns} (min-max ${fmt(Math.min(...tars))}-${fmt(Math.max(...tars))}; interleaved with the above)`, value: `${fmt(median(tars))} (${mbs(median(tars))})` },
      { what: `${where}: installer time / tar time`, value: `${(median(ours) / median(tars)).toFixed(2)}x`, target: `<= 1.5x: ${median(ours) / median(tars) <= 1.5 ? "met" : "not met"}` },
    );
  }
  return rows;
}

let engineHost = "unix:///var/run/docker.sock";

// A new tag per build: moving one tag between images while the next one unpacks has failed on
// Docker 26's containerd store ("parent snapshot ... does not exist").
let envBuilds = 0;
function envBuild(dir: string, extra: string[] = []): number {
  return sh(["-H", engineHost, "buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", ...extra, "-t", `cf-bench-env-${envBuilds++}`, "."], dir).ms;
}

function fixtureEnvironment(greetpy: string): string {
  return `# syntax=localhost:5000/conda-frontend:test
name: bench
channels: [http://127.0.0.1:8765]
dependencies: [python=3.12, greet, greetpy=${greetpy}, greet-env, greet-data]
image:
  base: localhost:5000/distroless/base-debian12:nonroot
`;
}

/**
 * Empties the builder cache, then builds an environment without packages once: the next build
 * finds the frontend and base images, and nothing of any package (so a package that an earlier
 * run installed is not found in the cache when the one-package change asks for it again).
 */
function emptyBuilderCache(): void {
  sh(["-H", engineHost, "builder", "prune", "-af"], root);
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-empty-"));
  writeFileSync(join(dir, "environment.yml"), "# syntax=localhost:5000/conda-frontend:test\nname: empty\ndependencies: []\nimage:\n  base: localhost:5000/distroless/base-debian12:nonroot\n");
  envBuild(dir);
}

async function installBuilds(store: "classic" | "containerd"): Promise<Row[]> {
  engineHost = store === "classic" ? "unix:///var/run/docker.sock" : "unix:///var/run/docker-containerd.sock";
  const rows: Row[] = [];
  // The fixture environment: 16 packages, CPython among them (with .pyc compilation).
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-env-"));
  writeFileSync(join(dir, "environment.yml"), fixtureEnvironment("0.2"));
  emptyBuilderCache();
  const cold = envBuild(dir, ["--no-cache"]);
  envBuild(dir);
  const cached = median([envBuild(dir), envBuild(dir), envBuild(dir)]);
  writeFileSync(join(dir, "environment.yml"), fixtureEnvironment("0.1"));
  const onePackage = envBuild(dir);
  rows.push({ what: `${store} store: fixture environment (16 packages incl. CPython 3.12, .pyc on): cold build (builder cache emptied, then --no-cache: solve, download, install, export)`, value: fmt(cold) });
  rows.push({ what: `${store} store: fixture environment, rebuild with nothing changed (every step cached: what any rebuild costs at least), median of 3`, value: `${fmt(cached)} (${((cached / cold) * 100).toFixed(0)}% of cold)` });
  rows.push({ what: `${store} store: fixture environment, rebuild after one dependency changed (greetpy 0.2 -> 0.1: one solve, one install)`, value: `${fmt(onePackage)} (${percentOf(onePackage, cold)} of cold)`, target: `< 10% of cold: ${met(onePackage / cold < 0.1)}` });

  // A generated 150-package environment from its own channel on 127.0.0.1:8768.
  const channel = join(root, ".e2e/bench-install-channel");
  rmSync(channel, { recursive: true, force: true });
  const pkgs = await generateInstallChannel(channel, 150);
  const server = await serve(channel, 8768);
  const env = (names: string[]) => `# syntax=localhost:5000/conda-frontend:test
name: bench150
channels: [http://127.0.0.1:8768]
dependencies: [${names.join(", ")}]
image:
  base: localhost:5000/distroless/base-debian12:nonroot
`;
  const dir150 = mkdtempSync(join(tmpdir(), "cf-bench-150-"));
  writeFileSync(join(dir150, "environment.yml"), env(pkgs.map((p) => p.name)));
  emptyBuilderCache();
  const cold150 = envBuild(dir150, ["--no-cache"]);
  envBuild(dir150);
  const cached150 = median([envBuild(dir150), envBuild(dir150), envBuild(dir150)]);
  // One package gets a new version in the channel; the environment asks for it. Three times,
  // each a version no build has seen (one build on this VM varies by 10-20%).
  const changes: number[] = [];
  for (const version of ["1.1", "1.2", "1.3"]) {
    await generateInstallChannel(channel, 150, (i) => (i === 77 ? version : "1.0"));
    writeFileSync(join(dir150, "environment.yml"), env(pkgs.map((p) => (p.name === "benchpkg077" ? `benchpkg077=${version}` : p.name))));
    changes.push(envBuild(dir150));
  }
  const one150 = median(changes);
  server.close();
  rows.push({ what: `${store} store: generated environment of 150 packages (${(dirBytes(channel) / 2 ** 20).toFixed(0)} MB of .conda): cold build (builder cache emptied, then --no-cache)`, value: fmt(cold150) });
  rows.push({ what: `${store} store: 150-package environment, rebuild with nothing changed, median of 3`, value: `${fmt(cached150)} (${((cached150 / cold150) * 100).toFixed(0)}% of cold)` });
  rows.push({ what: `${store} store: 150-package environment, rebuild after one package changed version (benchpkg077 1.0 -> 1.1 -> 1.2 -> 1.3), median of 3`, value: `${fmt(one150)} (${percentOf(one150, cold150)} of cold)`, target: `< 10% of cold: ${met(one150 / cold150 < 0.1)}` });
  // Issue 17: the floor of every rebuild must not grow much with the number of packages.
  const floor = cached150 / cached;
  rows.push({ what: `${store} store: nothing changed, 150-package environment's time / the fixture environment's (medians of 3 above, same run)`, value: `${floor.toFixed(2)}x`, target: `<= 2x: ${met(floor <= 2)}` });
  return rows;
}

/** Side by side with the hand-written multi-stage Dockerfile (bench/recipe.ts), on one store. */
function recipeTable(store: "classic" | "containerd"): string {
  const host = store === "classic" ? "unix:///var/run/docker.sock" : "unix:///var/run/docker-containerd.sock";
  const { rows } = recipeComparison(sh, host);
  return [`| ${store} store | conda-frontend | hand-written recipe | target |`, "|---|---|---|---|", ...rows.map((r) => `| ${r.what} | ${r.ours} | ${r.recipe} | ${r.target} |`)].join("\n");
}

/** examples/webapp with each prune preset: the image, and the environment as the summary reports it. */
function presetSizes(): string {
  const rows: string[] = [];
  for (const preset of ["none", "safe", "aggressive"]) {
    const dir = mkdtempSync(join(tmpdir(), "cf-bench-preset-"));
    cpSync(join(root, "examples/webapp"), dir, { recursive: true });
    const yml = readFileSync(join(dir, "environment.yml"), "utf8").replace("image:\n", `image:\n  prune: ${preset}\n`);
    writeFileSync(join(dir, "environment.yml"), yml);
    const { out } = sh(["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "-t", `cf-bench-preset-${preset}`, "--load", "."], dir);
    const size = Number(sh(["image", "inspect", "--format", "{{.Size}}", `cf-bench-preset-${preset}`], dir).out.trim());
    const summary = /environment \/opt\/conda: ([\d.]+ \w+) in (\d+) files.*?(?:left out ([\d.]+ \w+)|left nothing out)/.exec(out);
    if (!summary) throw new Error(`no size summary in the build output:\n${out}`);
    rows.push(`| \`${preset}\` | ${(size / 1e6).toFixed(1)} MB | ${summary[1]} in ${summary[2]} files | ${summary[3] ?? "0"} |`);
  }
  return ["| image.prune | image size | environment | left out |", "|---|---|---|---|", ...rows].join("\n");
}

function machine(): string {
  const docker = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).stdout.trim();
  return `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Docker Engine ${docker} (classic store), Node ${process.version}`;
}

/** The engines of the CI-runner comparison: the containerd store exports caches with the docker driver. */
const ciEngines: BenchEngine[] = [
  { label: "Docker 26.1.5, containerd store", cli: "docker", env: {}, host: "unix:///var/run/docker-containerd.sock" },
  { label: "Docker 28.5.2, containerd store", cli: "/opt/conda-frontend/docker-28/usr/bin/docker", env: { DOCKER_CONFIG: "/etc/conda-frontend/docker-28-cli" }, host: "unix:///var/run/docker-28.sock" },
];
async function ciRunnerTables(): Promise<string> {
  const tables: string[] = [];
  for (const e of ciEngines) tables.push(await ciRunnerTable(e, root, serve));
  return tables.join("\n\n");
}
/**
 * Our gateway transport (src/gateway/transport.ts, node:http2) against @grpc/grpc-js
 * (src/gateway/grpc-js-transport.ts, spliced onto stdio through a unix socket): two frontend
 * images built from the same tree (the committed one, `git archive HEAD`, so others' unfinished
 * work cannot break the image), differing only in the transport bridge.ts constructs. Each round
 * builds the frontend-only environment once through each, in alternating order: the VM's speed
 * drifts, and interleaving gives both the same machine.
 */
const transportRuns = Number(process.env.BENCH_TRANSPORT_RUNS ?? 15);
function transportVariantImages(): { own: string; grpcJs: string } {
  const tree = mkdtempSync(join(tmpdir(), "cf-bench-transport-"));
  // The whole tree (1.5 MB): whatever frontend.Dockerfile copies is there.
  const archive = spawnSync("git", ["archive", "HEAD"], { cwd: root, maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
  spawnSync("tar", ["-x", "-C", tree], { input: archive.stdout });
  const build = (tag: string) => {
    const secret = statSync("/etc/ssl/certs/ca-certificates.crt", { throwIfNoEntry: false }) ? ["--secret", "id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt"] : [];
    const image = `localhost:5000/conda-frontend:${tag}`;
    sh(["buildx", "build", "--quiet", "-f", "frontend.Dockerfile", ...secret, "--build-arg", "BUILDER_IMAGE=localhost:5000/node:24-builder", "--build-arg", "RUNTIME_IMAGE=localhost:5000/distroless/nodejs24-debian12", "-t", image, "--push", "."], tree);
    return image;
  };
  const own = build("transport-own");
  const bridge = join(tree, "src/gateway/bridge.ts");
  const source = readFileSync(bridge, "utf8");
  const patched = source.replace("new StdioTransport()", "new GrpcJsTransport()");
  if (patched === source) throw new Error("bridge.ts no longer says `new StdioTransport()`: update the transport bench");
  writeFileSync(bridge, `import { GrpcJsTransport } from "./grpc-js-transport";\n${patched}`);
  const grpcJs = build("transport-grpcjs");
  rmSync(tree, { recursive: true, force: true });
  return { own, grpcJs };
}

/** Quartiles by linear interpolation; with min-max, as "IQR a-b, min-max c-d". */
function spread(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => {
    const at = (s.length - 1) * p;
    return s[Math.floor(at)]! + (s[Math.ceil(at)]! - s[Math.floor(at)]!) * (at - Math.floor(at));
  };
  const ms = (x: number) => x.toFixed(0);
  return `IQR ${ms(q(0.25))}-${ms(q(0.75))} ms, min-max ${ms(s[0]!)}-${ms(s.at(-1)!)} ms`;
}

function transportComparison(): Row[] {
  const images = transportVariantImages();
  const sides = (["own", "grpcJs"] as const).map((side) => {
    const dir = mkdtempSync(join(tmpdir(), `cf-bench-transport-${side.toLowerCase()}-`));
    writeFileSync(join(dir, "app.py"), "print('hi')\n");
    writeFileSync(join(dir, "environment.yml"), `# syntax=${images[side]}\nname: app\ndependencies: []\nimage:\n  base: localhost:5000/distroless/base-debian12:nonroot\n  env: {MODE: prod}\n  app:\n    copy: [app.py]\n`);
    const args = ["buildx", "build", "--progress=plain", "-f", "environment.yml", "--build-arg", "CONDA_FRONTEND_TIMING=1", "-t", `cf-bench-transport-${side.toLowerCase()}`, "--load", "."];
    return { side, dir, args, walls: [] as number[], frontend: [] as number[], connect: [] as number[] };
  });
  for (const s of sides) sh(s.args, s.dir); // pulls the image, fills the cache
  for (let i = 0; i < transportRuns; i++) {
    for (const s of i % 2 ? [...sides].reverse() : sides) {
      const { ms, out } = sh(s.args, s.dir);
      const total = /start-to-return ([\d.]+) ms/.exec(out);
      const main = /main=([\d.]+)/.exec(out);
      const ping = /ping=([\d.]+)/.exec(out);
      if (!total || !main || !ping) throw new Error(`no timing warning from the ${s.side} frontend:\n${out}`);
      s.walls.push(ms);
      s.frontend.push(Number(total[1]));
      s.connect.push(Number(ping[1]) - Number(main[1]));
    }
  }
  const [own, grpcJs] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const growth = median(grpcJs.frontend) - median(own.frontend);
  // The same rounds paired: each round's grpc-js build minus the ours next to it.
  const paired = grpcJs.frontend.map((t, i) => t - own.frontend[i]!);
  const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${ms.toFixed(1)} ms`;
  const of = `median of ${transportRuns} (`;
  return [
    { what: `ours (node:http2): frontend process start to Return, ${of}${spread(own.frontend)})`, value: fmt(median(own.frontend)) },
    { what: `@grpc/grpc-js: frontend process start to Return, ${of}${spread(grpcJs.frontend)})`, value: fmt(median(grpcJs.frontend)) },
    { what: "grpc-js start to Return minus ours: difference of the medians", value: signed(growth), target: `< 15 ms: ${growth < 15 ? "met" : "not met"}` },
    { what: `the same, paired: median of the ${transportRuns} rounds' differences (${spread(paired)})`, value: signed(median(paired)) },
    { what: `of which: connect and Ping (the main to ping marks), ours, ${of}${spread(own.connect)})`, value: fmt(median(own.connect)) },
    { what: `of which: connect and Ping (the main to ping marks), grpc-js, ${of}${spread(grpcJs.connect)})`, value: fmt(median(grpcJs.connect)) },
    { what: `ours: the whole cached build, wall, ${of}${spread(own.walls)})`, value: fmt(median(own.walls)) },
    { what: `grpc-js: the whole cached build, wall, ${of}${spread(grpcJs.walls)})`, value: fmt(median(grpcJs.walls)) },
  ];
}

/** The section of docs/benchmarks.md, with its own date, machine and load: it is also run alone. */
function transportSection(): string {
  const load = () => loadavg()[0]!.toFixed(1);
  const before = load();
  const rows = transportComparison();
  return `## Gateway transport: ours against @grpc/grpc-js (issue 15)

Two frontend images from the same commit (\`git archive HEAD\`), one with our transport
(src/gateway/transport.ts: node:http2 on stdin/stdout), one with @grpc/grpc-js
(src/gateway/grpc-js-transport.ts: grpc-js dials a unix socket that the process splices onto
stdin/stdout); both load their HTTP/2 code when they connect, after the V8 startup snapshot.
The frontend-only environment above, fully cached, built through each image in turn, alternating
which goes first, ${transportRuns} rounds: this VM is shared and its speed drifts, and interleaving
gives both sides the same machine (the paired row compares each round's two builds). Times are the
frontend's own marks (\`CONDA_FRONTEND_TIMING=1\`) and the wall time of \`docker buildx build\`.
\`BENCH_ONLY=transport npx tsx bench/run.ts\` runs this section alone and prints it.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${machine()}; load average (1 min) ${before} before, ${load()} after

${["| what | result | target |", "|---|---|---|", ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.target ?? ""} |`)].join("\n")}`;
}

if (process.env.BENCH_ONLY === "transport") {
  // For working on this section alone: printed, docs/benchmarks.md untouched.
  console.log(transportSection());
  process.exit(0);
}
if (process.env.BENCH_ONLY === "installer") {
  // The installer's rows alone, printed.
  const rows = [...(await installerThroughput()), ...(await installerMemory())];
  console.log(rows.map((r) => `| ${r.what} | ${r.value} | ${r.target ?? ""} |`).join("\n"));
  process.exit(0);
}
if (process.env.BENCH_ONLY === "install") {
  // The install builds' rows alone (both stores), printed.
  const rows = [...(await installBuilds("classic")), ...(await installBuilds("containerd"))];
  console.log(rows.map((r) => `| ${r.what} | ${r.value} | ${r.target ?? ""} |`).join("\n"));
  process.exit(0);
}
if (process.env.BENCH_ONLY === "speed") {
  // For working on this section alone: printed, docs/benchmarks.md untouched.
  console.log(await rebuildSpeedSection({ root, serve, runs, machine: machine() }));
  process.exit(0);
}
/**
 * Puts one section (its text starts with its "## " heading) into docs/benchmarks.md in place of
 * the section with the same heading, or at the end: for sections that are run alone.
 */
function spliceSection(section: string): void {
  const file = join(root, "docs/benchmarks.md");
  const doc = readFileSync(file, "utf8");
  const heading = section.slice(0, section.indexOf("\n"));
  const at = doc.indexOf(`\n${heading}\n`);
  if (at < 0) {
    writeFileSync(file, `${doc.trimEnd()}\n\n${section}\n`);
    return;
  }
  const next = doc.indexOf("\n## ", at + 1);
  writeFileSync(file, `${doc.slice(0, at + 1)}${section}\n${next < 0 ? "" : doc.slice(next)}`);
}
if (process.env.BENCH_ONLY === "multiplatform") {
  // Printed, and written into docs/benchmarks.md in place of its previous run (a full run takes ~35 min).
  const section = await multiPlatformSection({ root, machine: machine() });
  spliceSection(section);
  console.log(section);
  process.exit(0);
}
if (process.env.BENCH_ONLY === "ci") {
  // For working on this section alone: printed, docs/benchmarks.md untouched.
  console.log(await ciRunnerTables());
  process.exit(0);
}

const tableOf = (rows: Row[]) => ["| what | result | target |", "|---|---|---|", ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.target ?? ""} |`)].join("\n");
const table = tableOf([...foundationRebuilds(), ...cachedRebuilds()]);
const transportTable = transportSection();
const solveTable = tableOf(await solveBenchmark());
const installTable = tableOf([...(await installerThroughput()), ...(await installerMemory()), ...(await installBuilds("classic")), ...(await installBuilds("containerd"))]);
const presetTable = presetSizes();
const recipeTables = [recipeTable("classic"), recipeTable("containerd")].join("\n\n");
const ciTables = await ciRunnerTables();
const speedSection = await rebuildSpeedSection({ root, serve, runs, machine: machine() });
const multiPlatform = await multiPlatformSection({ root, machine: machine() });
const doc = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); numbers from one run on one machine, not a test.
Timing on these shared VMs varies from run to run (on 2026-11-22 the same cached Dockerfile build
took 175 to 400 ms in four runs): compare rows of one run with each other, not across runs.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${machine()}

## Frontend overhead (issue: foundation)

${table}

${transportTable}

## Solver (issue: solve stage and lock files)

The solve tool (\`conda-frontend solve\`, rattler's solver compiled to WebAssembly) run as the build
step runs it, on a channel generated by bench/solve-channel.ts and served from 127.0.0.1.

${solveTable}

## Install (issue: install stage)

Builds on both stores, with \`--network=host\` for the channels on 127.0.0.1. On the classic store
(no merge op) each layer (a package's, or in the 150-package environment a run of install steps')
is copied onto the ones below in its own step, so a change re-copies the changed layer and those
above it; the containerd store merges the layers, so only the changed layer is new. "Cold": the builder cache is emptied (\`docker builder prune
-af\`, then one build of an empty environment brings back the frontend and base images), then
\`--no-cache\`: solve, download, install and export all run. Every build also pays BuildKit's
own per-build work, visible in the "nothing changed" rows: loading and cache-checking the graph
(two vertices per install step: its request and the step) and, after export, recording the build in its history with a
provenance record whose cost grows with the graph (and, on the classic store, with the number of
earlier builds in the cache: up to ~170 ms per build on this machine after many builds).
The installer is timed as a build step runs it: each run in a process of its own (bench/install-once.ts)
with the step's environment, from the start of the install to its end; Node's own start (~60 ms
from the frontend image's snapshot, more from sources) is not counted, while tar's row includes
starting bash, tar and zstd. Until 2026-11-23 these rows ran the installer seven times in the
bench's own process, where later runs reused code V8 had optimised and memory freed by earlier
ones: 103 ms there against 140 ms in a fresh process, for the same code. The ratio also moves with
the VM's speed: GNU tar's two processes lose more than the installer when the VM is slow, and on
disk both mostly wait for writeback.

${installTable}

## The slim image (issue: prune, pip, app install)

examples/webapp (CPython 3.12, greet, pip, one wheel, the app) with each \`image.prune\` preset, on
the classic store. The environment's size and what was left out are the build's own summary.

${presetTable}

Side by side with the hand-written recipe (bench/recipe.ts): a multi-stage Dockerfile built by
Docker's own Dockerfile frontend, whose builder stage installs the same lock with our installer CLI
(package cache in a cache mount), deletes what the safe preset prunes with \`rm\`/\`find\` in the
same RUN, and copies the prefix onto the same distroless base. Same lock (python 3.12, greet, pip,
greetpy: 16 packages), same engine, one run each, \`--network=host\` for both. Cold builds start
from \`docker builder prune -af\`.

${recipeTables}

## CI runner (issue: CI builders)

Every build starts on an emptied builder (\`docker builder prune -af\`) and imports the cache an
earlier build exported to the local registry (\`--cache-to type=registry,ref=...,mode=max\`, then
\`--cache-from\`), as on an ephemeral CI runner. Side by side, interleaved, same lock: ours, and
the hand-written recipe above with its own \`--cache-from\` (its package cache is a cache mount,
which no cache export carries). Locks are given (no solve in either). Times are wall times of
\`docker buildx build ... --load\`, pulling what the cache holds from the registry included.
With one package changed, the recipe's single install step misses its cache and installs (and
downloads) every package again; ours installs the changed one (with the few neighbours that share
its install step in the 150-package environment). With nothing changed, the recipe's
Dockerfile runs in Docker's built-in frontend and finds its image at the top of the cache, while
ours pays for its own frontend image (BuildKit pulls and unpacks it on an emptied builder) and
for the image's Solve, which looks up each install step and its request in the imported cache
(the "of which" rows; about 32 steps for 150 packages since the rebuild-speed issue, one per
package before): that target is not met.

${ciTables}

${speedSection}

${multiPlatform}
`;
writeFileSync(join(root, "docs/benchmarks.md"), doc);
// The benchmark's images, on both engines: they only take disk space now.
for (const host of ["unix:///var/run/docker.sock", "unix:///var/run/docker-containerd.sock"]) {
  const tags = spawnSync("docker", ["-H", host, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=cf-bench-*"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  if (tags.length) spawnSync("docker", ["-H", host, "image", "rm", "-f", ...tags], { encoding: "utf8" });
}
console.log(doc);
