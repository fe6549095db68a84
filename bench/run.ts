// `npm run bench`: measures what the issues set targets for, on this machine, and writes
// docs/benchmarks.md. Needs the engines, registry and frontend image (scripts/e2e/setup.sh).
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { createRequire } from "node:module";
import { join } from "node:path";
import { generateChannel } from "./solve-channel";

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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

interface Row {
  what: string;
  value: string;
  target?: string;
}

function cachedRebuilds(): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-"));
  cpSync(join(root, "examples/hello"), dir, { recursive: true });
  const args = ["buildx", "build", "--progress=plain", "-f", "environment.yml", "--build-arg", "CONDA_FRONTEND_TIMING=1", "-t", "cf-bench-hello", "--load", "."];
  sh(args, dir); // warm the cache
  const walls: number[] = [];
  const frontend: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ms, out } = sh(args, dir);
    walls.push(ms);
    const m = /start-to-return ([\d.]+) ms/.exec(out);
    if (m) frontend.push(Number(m[1]));
  }
  // The same image through Docker's built-in Dockerfile frontend, for scale.
  writeFileSync(join(dir, "Dockerfile"), "FROM localhost:5000/distroless/nodejs24-debian12\nWORKDIR /app\nCOPY hello.js /app/hello.js\nENV GREETING=hi\nUSER 65532:65532\nENTRYPOINT [\"/nodejs/bin/node\", \"/app/hello.js\"]\n");
  const dfArgs = ["buildx", "build", "--progress=plain", "-t", "cf-bench-dockerfile", "--load", "."];
  sh(dfArgs, dir);
  const dockerfile: number[] = [];
  for (let i = 0; i < runs; i++) dockerfile.push(sh(dfArgs, dir).ms);
  return [
    { what: `fully cached rebuild of examples/hello, wall, median of ${runs}`, value: fmt(median(walls)), target: "<= 400 ms" },
    { what: `frontend process start to Return, median of ${frontend.length}`, value: fmt(median(frontend)), target: "<= 150 ms" },
    { what: `for scale: the same image from a Dockerfile (Docker's built-in frontend), median of ${runs}`, value: fmt(median(dockerfile)) },
  ];
}

/** Serves a folder on 127.0.0.1 (for the generated channel); resolves to the server. */
function serve(dir: string, port: number) {
  const server = createServer((req, res) => {
    try {
      const body = readFileSync(join(dir, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/\.\./g, "")));
      res.writeHead(200, { "content-length": body.length });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise<typeof server>((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
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
      const child = require("node:child_process").spawn("/usr/bin/time", ["-f", "peak-rss-kib=%M", process.execPath, join(root, "dist/cli.mjs"), "solve", join(work, "request.json"), join(work, "out")]);
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

function machine(): string {
  const docker = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).stdout.trim();
  return `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Docker Engine ${docker} (classic store), Node ${process.version}`;
}

const tableOf = (rows: Row[]) => ["| what | result | target |", "|---|---|---|", ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.target ?? ""} |`)].join("\n");
const table = tableOf(cachedRebuilds());
const solveTable = tableOf(await solveBenchmark());
const doc = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); numbers from one run on one machine, not a test.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${machine()}

## Frontend overhead (issue: foundation)

${table}

## Solver (issue: solve stage and lock files)

The solve tool (\`conda-frontend solve\`, rattler's solver compiled to WebAssembly) run as the build
step runs it, on a channel generated by bench/solve-channel.ts and served from 127.0.0.1.

${solveTable}
`;
writeFileSync(join(root, "docs/benchmarks.md"), doc);
console.log(doc);
