// A CI runner: every build starts on an empty builder (`docker builder prune -af`) and imports
// the cache an earlier run exported to the registry (--cache-to type=registry,...,mode=max), as
// GitHub Actions' and GitLab's ephemeral runners do. Ours against the hand-written recipe
// (bench/recipe.ts) doing the same with its own --cache-from, same lock, same engine, interleaved:
// nothing changed, and one package changed in the lock.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateInstallChannel } from "./install-channel";
import { dockerfile, writeRecipe } from "./recipe";

export interface BenchEngine {
  label: string;
  cli: string;
  env: Record<string, string>;
  host: string;
}

const frontend = "localhost:5000/conda-frontend:test";
const base = "localhost:5000/distroless/base-debian12:nonroot";
const runs = 3;

function docker(engine: BenchEngine, args: string[], cwd: string): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(engine.cli, ["-H", engine.host, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...engine.env, BUILDX_NO_DEFAULT_ATTESTATIONS: "1" } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  return { ms, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/**
 * The frontend's own marks (CONDA_FRONTEND_TIMING): process start to Return, and the part spent
 * in the image's Solve (from "marshalled" to "installed").
 */
function frontendTimes(out: string): { total: number; imageSolve: number; load: number } | undefined {
  const total = /start-to-return ([\d.]+) ms/.exec(out);
  const marshalled = /marshalled=([\d.]+)/.exec(out);
  const installed = /installed=([\d.]+)/.exec(out);
  if (!total || !marshalled || !installed) return undefined;
  return { total: Number(total[1]), imageSolve: Number(installed[1]) - Number(marshalled[1]), load: frontendImageLoad(out) };
}

/** How long BuildKit took to get the frontend image ready to run (the longest DONE of its vertex). */
function frontendImageLoad(out: string): number {
  const id = /^#(\d+) docker-image:\/\/\S*conda-frontend:test@/m.exec(out)?.[1];
  if (!id) return 0;
  const done = [...out.matchAll(new RegExp(`^#${id} DONE ([\\d.]+)s`, "gm"))].map((m) => Number(m[1]) * 1000);
  return done.length ? Math.max(...done) : 0;
}

/** One environment in two versions (a lock each) that differ in one package. */
interface Case {
  /** For tags and cache references. */
  id: string;
  name: string;
  /** environment.yml of each version; the same dependency list but for the changed pin. */
  before: string;
  after: string;
  changed: string;
}

function environmentYml(channel: string, deps: string[]): string {
  return `# syntax=${frontend}
name: ci
channels: [${channel}]
dependencies: [${deps.join(", ")}]
image:
  base: ${base}
  app:
    copy: [app.py]
`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const spread = (xs: number[]) => `${fmtS(median(xs))} (${fmtS(Math.min(...xs))}-${fmtS(Math.max(...xs))})`;

/** The rows for one case: nothing changed, and one package changed, each `runs` times interleaved. */
function measure(engine: BenchEngine, c: Case): string[] {
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-ci-"));
  writeFileSync(join(dir, "app.py"), "print('app')\n");
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  const headers = `${dir}-headers.txt`;
  writeFileSync(headers, "X-Recipe: bench\n");
  const locks: Record<"before" | "after", { yml: string; lock: string }> = { before: { yml: c.before, lock: "" }, after: { yml: c.after, lock: "" } };
  for (const v of ["before", "after"] as const) {
    writeFileSync(join(dir, "environment.yml"), locks[v].yml);
    rmSync(join(dir, "conda-lock.yml"), { force: true });
    docker(engine, ["buildx", "build", "--network=host", "-f", "environment.yml", "--target", "lock", "--output", `type=local,dest=${join(dir, `lock-${v}`)}`, "."], dir);
    locks[v].lock = readFileSync(join(dir, `lock-${v}`, "conda-lock.yml"), "utf8");
  }
  const use = (v: "before" | "after") => {
    writeFileSync(join(dir, "environment.yml"), locks[v].yml);
    writeFileSync(join(dir, "conda-lock.yml"), locks[v].lock);
    writeRecipe(dir, locks[v].lock);
  };
  const ref = (who: string) => `localhost:5000/cf-bench-ci:${c.id}-${who}-${process.pid}`;
  let tags = 0;
  const frontend: { total: number; imageSolve: number; load: number }[] = [];
  const ours = (cache: string[]) => {
    const r = docker(engine, ["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "--build-arg", "CONDA_FRONTEND_TIMING=1", ...cache, "-t", `cf-bench-ci-${++tags}`, "--load", "."], dir);
    const t = frontendTimes(r.out);
    if (t && cache[0] === "--cache-from") frontend.push(t);
    return r.ms;
  };
  const recipe = (cache: string[]) => docker(engine, ["buildx", "build", "--network=host", "-f", "Dockerfile", "--secret", `id=conda-auth,src=${headers}`, ...cache, "-t", `cf-bench-ci-${++tags}`, "--load", "."], dir).ms;
  const prune = () => docker(engine, ["builder", "prune", "-af"], dir);
  const exportTo = (who: string) => ["--cache-to", `type=registry,ref=${ref(who)},mode=max`];
  const importFrom = (who: string) => ["--cache-from", `type=registry,ref=${ref(who)}`];

  // The run that fills the cache (the previous commit's CI run).
  use("before");
  prune();
  ours(exportTo("ours"));
  prune();
  recipe(exportTo("recipe"));
  // Each build of ours right before one of the recipe's, both on an emptied builder.
  const interleaved = () => {
    const times = { ours: [] as number[], recipe: [] as number[] };
    for (let i = 0; i < runs; i++) {
      prune();
      times.ours.push(ours(importFrom("ours")));
      prune();
      times.recipe.push(recipe(importFrom("recipe")));
    }
    return times;
  };
  const nothing = interleaved();
  const unchangedFrontend = frontend.splice(0);
  use("after");
  const one = interleaved();
  const met = (ok: boolean) => (ok ? "met" : "not met");
  const slower = median(nothing.ours) / median(nothing.recipe);
  const faster = median(one.recipe) / median(one.ours);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  return [
    `| ${c.name}: nothing changed, median of ${runs} (min-max) | ${spread(nothing.ours)} | ${spread(nothing.recipe)} | ours no slower: ${met(slower <= 1)} (${slower.toFixed(2)}x the recipe's time) |`,
    `| of which: BuildKit getting our frontend image ready to run (pull and unpack on the emptied builder); our frontend from process start to Return (in it, the image's Solve from the imported cache), medians of ${unchangedFrontend.length} | ${ms(median(unchangedFrontend.map((f) => f.load)))}; ${ms(median(unchangedFrontend.map((f) => f.total)))} (${ms(median(unchangedFrontend.map((f) => f.imageSolve)))}) | (Docker's built-in frontend: no image) | |`,
    `| ${c.name}: one package changed in the lock (${c.changed}), median of ${runs} (min-max) | ${spread(one.ours)} | ${spread(one.recipe)} | ours >= 3x faster: ${met(faster >= 3)} (${faster.toFixed(1)}x) |`,
  ];
}

/**
 * The fixture environment (16 packages with CPython, from the fixture channel) and a generated
 * one of 150 packages (its own channel on `port`, served by `serve`), on one engine.
 */
export async function ciRunnerTable(engine: BenchEngine, root: string, serve: (dir: string, port: number) => Promise<{ close(): void }>): Promise<string> {
  const rows: string[] = [];
  const fixture = "http://127.0.0.1:8765";
  rows.push(
    ...measure(engine, {
      id: "fixture",
      name: "fixture environment (python 3.12, greet, pip, greetpy: 16 packages)",
      before: environmentYml(fixture, ["python=3.12", "greet", "pip", "greetpy=0.2"]),
      after: environmentYml(fixture, ["python=3.12", "greet", "pip", "greetpy=0.1"]),
      changed: "greetpy 0.2 -> 0.1",
    }),
  );
  // The generated channel keeps every archive it ever wrote, so both locks stay downloadable.
  const channel = join(root, ".e2e/bench-ci-channel");
  rmSync(channel, { recursive: true, force: true });
  const port = 8770;
  const pkgs = await generateInstallChannel(channel, 150);
  const server = await serve(channel, port);
  try {
    const names = pkgs.map((p) => p.name);
    const pinned = (v: string) => environmentYml(`http://127.0.0.1:${port}`, names.map((n) => (n === "benchpkg077" ? `benchpkg077=${v}` : n)));
    // The channel gains benchpkg077 1.1 and keeps 1.0 (its archive stays on disk; its record is
    // put back), so both pins solve.
    const repodata = join(channel, "linux-64/repodata.json");
    const records = (): Record<string, object> => (JSON.parse(readFileSync(repodata, "utf8")) as { "packages.conda": Record<string, object> })["packages.conda"];
    const first = Object.entries(records()).filter(([file]) => file.startsWith("benchpkg077-"));
    await generateInstallChannel(channel, 150, (i) => (i === 77 ? "1.1" : "1.0"));
    const merged = { ...records(), ...Object.fromEntries(first) };
    writeFileSync(repodata, JSON.stringify({ info: { subdir: "linux-64" }, packages: {}, "packages.conda": merged }));
    rows.push(...measure(engine, { id: "gen150", name: "generated environment of 150 packages", before: pinned("1.0"), after: pinned("1.1"), changed: "benchpkg077 1.0 -> 1.1" }));
  } finally {
    server.close();
  }
  return [`| ${engine.label} | conda-frontend | hand-written recipe | target |`, "|---|---|---|---|", ...rows].join("\n");
}
