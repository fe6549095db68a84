// `npm run bench`: measures what the issues set targets for, on this machine, and writes
// docs/benchmarks.md. Needs the engines, registry and frontend image (scripts/e2e/setup.sh).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
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

function machine(): string {
  const docker = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).stdout.trim();
  return `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Docker Engine ${docker} (classic store), Node ${process.version}`;
}

const rows = cachedRebuilds();
const table = ["| what | result | target |", "|---|---|---|", ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.target ?? ""} |`)].join("\n");
const doc = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); numbers from one run on one machine, not a test.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${machine()}

## Frontend overhead (issue: foundation)

${table}
`;
writeFileSync(join(root, "docs/benchmarks.md"), doc);
console.log(doc);
