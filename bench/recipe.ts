// Side by side with the hand-written recipe people copy from blog posts: a multi-stage Dockerfile
// (a builder stage with a shell installs the lock with our installer CLI, the package cache in a
// cache mount, then deletes what the safe preset prunes with rm/find in the same RUN; the prefix
// is copied onto the same distroless base), built by Docker's own Dockerfile frontend. Same lock,
// same machine, same engine, one run each.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authSecretPath } from "../src/conda/auth";
import type { FetchRequest } from "../src/conda/fetch-request";
import type { InstallRequest } from "../src/conda/install-request";
import { readLock } from "../src/input/lock";
import { installOrder, isNoarch } from "../src/stages/install";

export interface Docker {
  (args: string[], cwd: string): { ms: number; out: string };
}

const frontend = "localhost:5000/conda-frontend:test";
const base = "localhost:5000/distroless/base-debian12:nonroot";
const shellImage = "localhost:5000/debian-busybox:12";

function environmentYml(greetpy: string): string {
  return `# syntax=${frontend}
name: recipe
channels: [http://127.0.0.1:8765]
dependencies: [python=3.12, greet, pip, greetpy=${greetpy}]
image:
  base: ${base}
  entrypoint: ["/opt/conda/bin/python", "/app/app.py"]
  app:
    copy: [app.py]
`;
}

export interface RecipeOptions {
  /** The lock's platform whose packages the recipe installs. */
  subdir?: string;
  /** How install.sh starts our CLI in the builder stage. */
  cli?: string;
}

/** The recipe's inputs for one lock: a request per package for our CLI, and the script. */
export function writeRecipe(dir: string, lockText: string, opts: RecipeOptions = {}): void {
  const { subdir = "linux-64", cli = "/nodejs/bin/node --snapshot-blob /frontend/startup.blob" } = opts;
  const lock = readLock("conda-lock.yml", lockText);
  const packages = installOrder(lock.packages.filter((p) => p.platform === subdir && p.manager === "conda"));
  const python = packages.find((p) => p.name === "python");
  const recipe = join(dir, "recipe");
  rmSync(recipe, { recursive: true, force: true });
  mkdirSync(recipe);
  const lines = ["set -e"];
  packages.forEach((p, i) => {
    const fetch: FetchRequest = { url: p.url, filename: p.filename, sha256: p.sha256, md5: p.md5, out: "/pkgs" };
    const install: InstallRequest = {
      archive: `/pkgs/${p.filename}`,
      url: p.url,
      filename: p.filename,
      sha256: p.sha256,
      md5: p.md5,
      prefix: "/opt/conda",
      outRoot: `/stage/${i}`,
      pythonArchive: python && isNoarch(p) ? `/pkgs/${python.filename}` : undefined,
      compilePycWith: python ? (p === python ? `/stage/${i}` : `/stage/${packages.indexOf(python)}`) : undefined,
    };
    writeFileSync(join(recipe, `fetch-${i}.json`), JSON.stringify(fetch));
    writeFileSync(join(recipe, `install-${i}.json`), JSON.stringify(install));
    lines.push(`[ -f /pkgs/${p.filename} ] || ${cli} fetch /recipe/fetch-${i}.json`);
    lines.push(`${cli} install /recipe/install-${i}.json`);
  });
  lines.push(
    "mkdir -p /opt/conda",
    `for i in $(seq 0 ${packages.length - 1}); do cp -a /stage/$i/opt/conda/. /opt/conda/; done`,
    "rm -rf /stage",
    // The safe preset, the way such recipes write it.
    "cd /opt/conda",
    "rm -rf include share/doc share/man share/info share/gtk-doc lib/python3.*/idlelib lib/python3.*/ensurepip lib/python3.*/lib2to3/tests",
    "rm -f lib/libasan.so* lib/libtsan.so* lib/liblsan.so* lib/libusan.so*",
    "find . \\( -name '*.a' -o -name '*.js.map' \\) -type f -exec rm -f {} +",
    // An environment without python (the generated ones) has no site-packages to clean.
    "for sp in lib/python3.*/site-packages; do [ -d \"$sp\" ] || continue; find \"$sp\" \\( -name '*.pyx' -o -name '*.c' -o -name '*.h' \\) -type f -exec rm -f {} +; done",
  );
  writeFileSync(join(recipe, "install.sh"), lines.join("\n") + "\n");
}

/**
 * The builder: our CLI's image (Node and the installer) with busybox for a shell, rm and find.
 * `frontendRef` pins the CLI's image (a digest) where a bench must not see it change mid-run.
 */
export const recipeDockerfile = (frontendRef = frontend) => `FROM ${shellImage} AS shell

FROM ${frontendRef} AS builder
USER 0
COPY --from=shell /bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
# Our fetch command reads headers from the conda-auth secret; the channel needs none.
RUN --mount=type=cache,target=/pkgs,id=recipe-pkgs --mount=type=bind,source=recipe,target=/recipe --mount=type=secret,id=conda-auth,target=${authSecretPath} sh /recipe/install.sh

FROM ${base}
COPY --from=builder /opt/conda /opt/conda
ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CONDA_PREFIX=/opt/conda
WORKDIR /app
COPY app.py /app/app.py
USER 65532:65532
ENTRYPOINT ["/opt/conda/bin/python", "/app/app.py"]
`;
export const dockerfile = recipeDockerfile();

export interface RecipeResult {
  rows: { what: string; ours: string; recipe: string; target: string }[];
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmtMB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export function recipeComparison(docker: Docker, host: string): RecipeResult {
  const d = (args: string[], cwd: string) => docker(["-H", host, ...args], cwd);
  const dir = mkdtempSync(join(tmpdir(), "cf-bench-recipe-"));
  const locks: Record<string, string> = {};
  for (const v of ["0.2", "0.1"]) {
    const out = join(dir, `lock-${v}`);
    writeFileSync(join(dir, "environment.yml"), environmentYml(v));
    rmSync(join(dir, "conda-lock.yml"), { force: true });
    d(["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "--target", "lock", "--output", `type=local,dest=${out}`, "."], dir);
    locks[v] = readFileSync(join(out, "conda-lock.yml"), "utf8");
  }
  const use = (v: string) => {
    writeFileSync(join(dir, "environment.yml"), environmentYml(v));
    writeFileSync(join(dir, "conda-lock.yml"), locks[v]!);
    writeRecipe(dir, locks[v]!);
  };
  writeFileSync(join(dir, "app.py"), "print('app 1')\n");
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "..", `${dir.split("/").pop()}-headers.txt`), "X-Recipe: bench\n");
  // A new tag per build (see envBuild in run.ts).
  let builds = 0;
  const ours = () => d(["buildx", "build", "--progress=plain", "--network=host", "-f", "environment.yml", "-t", `cf-bench-ours-${++builds}`, "--load", "."], dir).ms;
  const recipe = () => d(["buildx", "build", "--progress=plain", "--network=host", "-f", "Dockerfile", "--secret", `id=conda-auth,src=${dir}-headers.txt`, "-t", `cf-bench-recipe-${++builds}`, "--load", "."], dir).ms;
  const size = (t: string) => Number(d(["image", "inspect", "--format", "{{.Size}}", t], dir).out.trim());
  const cold = (build: () => number) => {
    d(["builder", "prune", "-af"], dir);
    return build();
  };

  use("0.2");
  const coldOurs = cold(ours);
  const coldRecipe = cold(recipe);
  ours();
  recipe();
  writeFileSync(join(dir, "app.py"), "print('app 2')\n");
  const codeOurs = ours();
  const codeRecipe = recipe();
  use("0.1");
  const oneOurs = ours();
  const sizeOurs = size(`cf-bench-ours-${builds}`);
  const oneRecipe = recipe();
  const sizeRecipe = size(`cf-bench-recipe-${builds}`);
  const check = (okay: boolean) => (okay ? "met" : "not met");
  return {
    rows: [
      {
        what: "image size (docker image inspect .Size: the layers' contents on the classic store; compressed layers, manifest and config on the containerd store)",
        ours: fmtMB(sizeOurs),
        recipe: fmtMB(sizeRecipe),
        target: `ours no larger: ${check(sizeOurs <= sizeRecipe)} (ours ${sizeOurs >= sizeRecipe ? "+" : ""}${sizeOurs - sizeRecipe} bytes)`,
      },
      { what: "cold build (builder cache pruned first: downloads, installs, export)", ours: fmtS(coldOurs), recipe: fmtS(coldRecipe), target: `ours no slower: ${check(coldOurs <= coldRecipe)}` },
      { what: "rebuild after a code-only change", ours: fmtS(codeOurs), recipe: fmtS(codeRecipe), target: "" },
      { what: "rebuild after one package changed in the lock (greetpy 0.2 -> 0.1)", ours: fmtS(oneOurs), recipe: fmtS(oneRecipe), target: `ours >= 3x faster: ${check(oneRecipe / oneOurs >= 3)} (${(oneRecipe / oneOurs).toFixed(1)}x)` },
    ],
  };
}
