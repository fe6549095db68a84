// Eight builds of different environments started at once on one engine: they share packages
// (python and its libraries in four of them, greet and libgreet in two, greet-data in two), so
// BuildKit runs shared steps once while other builds wait for them, and each build's own steps
// beside them. Every build must succeed and every image must hold exactly its environment.
import { describe, expect, it } from "vitest";
import { buildAsync, condaMetaNames, type ImageEntry, imageEntries } from "./async-docker";
import { baseImage, channelUrl, docker, engines, header, project, tag } from "./harness";

const engine = engines[0]!; // Docker 26.1.5, classic store: every layer is also copied

/** python 3.12 and the libraries it depends on in the fixture channel. */
const PY = ["bzip2", "libffi", "libsqlite", "libuuid", "libxcrypt", "ncurses", "openssl", "python", "readline", "xz", "zlib"];

interface Case {
  id: string;
  deps: string[];
  prefix?: string;
  /** Exactly the packages in conda-meta. */
  packages: string[];
  /** Files (relative to the prefix) that must exist, and that must not. */
  has: string[];
  hasNot: string[];
  /** Small text files to read, and what they must contain. */
  contains?: Record<string, string>;
  /** `python -c` probes (entrypoint, args) and the exact output each must print. */
  runs?: { entrypoint: string; args: string[]; stdout: string }[];
}

const probe = (code: string) => ["-c", code];

const cases: Case[] = [
  {
    id: "greetpy01",
    deps: ["python=3.12", "greetpy=0.1"],
    packages: [...PY, "greetpy"],
    has: ["bin/python3.12", "bin/greetpy", "lib/python3.12/site-packages/greetpy/__init__.py"],
    hasNot: ["bin/greetpy-info", "share/greet-data/words.txt", "bin/pip"],
    runs: [
      {
        entrypoint: "/opt/conda/bin/python",
        args: probe("import importlib.util as u, greetpy; print(greetpy.__version__, [m for m in ('pip', 'setuptools', 'wheel') if u.find_spec(m)])"),
        stdout: "0.1 []",
      },
    ],
  },
  {
    id: "greetpy02-data",
    deps: ["python=3.12", "greetpy=0.2", "greet-data"],
    packages: [...PY, "greet-data", "greetpy"],
    has: ["bin/greetpy", "bin/greetpy-info", "share/greet-data/words.txt", "share/greet-data/no-link.txt"],
    hasNot: ["bin/greet", "bin/pip"],
    contains: { "share/greet-data/words.txt": "konnichiwa" },
    runs: [{ entrypoint: "/opt/conda/bin/python", args: probe("import greetpy; print(greetpy.hello('you'))"), stdout: "Hello from greetpy 0.2, you!" }],
  },
  {
    id: "zlib",
    deps: ["zlib"],
    packages: ["zlib"],
    has: ["lib/libz.so.1", "lib/libz.so.1.2.13"],
    hasNot: ["bin/python3.12", "lib/libgreet.so.1"],
  },
  {
    id: "greet",
    deps: ["greet"],
    packages: ["greet", "libgreet"],
    has: ["bin/greet", "lib/libgreet.so.1", "etc/greet.conf"],
    hasNot: ["bin/python3.12", "lib/libz.so.1"],
    contains: { "etc/greet.conf": "prefix=/opt/conda\n" },
    runs: [{ entrypoint: "/opt/conda/bin/greet", args: ["concurrency"], stdout: "greet: prefix=/opt/conda\ngreet: libgreet=2.0\ngreet: conf=/opt/conda/etc/greet.conf\ngreet: conf-prefix=/opt/conda\ngreet: Good day, concurrency!" }],
  },
  {
    id: "libgreet1",
    deps: ["libgreet=1.0"],
    packages: ["libgreet"],
    has: ["lib/libgreet.so.1", "conda-meta/libgreet-1.0-heaedba7_0.json"],
    hasNot: ["bin/greet"],
    contains: { "lib/pkgconfig/libgreet.pc": "Version: 1.0\n" },
  },
  {
    id: "pip-at-env",
    deps: ["python=3.12", "pip"],
    prefix: "/env",
    packages: [...PY, "pip", "setuptools", "wheel"],
    has: ["bin/pip", "bin/wheel", "lib/python3.12/site-packages/setuptools/__init__.py"],
    hasNot: ["bin/greetpy"],
    runs: [
      { entrypoint: "/env/bin/python", args: probe("import sys, pip, setuptools, wheel; print(sys.prefix, pip.__version__)"), stdout: "/env 25.1.1" },
      { entrypoint: "/env/bin/pip", args: ["--version"], stdout: "pip 25.1.1 from /env/lib/python3.12/site-packages/pip (python 3.12)" },
    ],
  },
  {
    id: "mixed",
    deps: ["python=3.12", "greetpy=0.1", "greet", "greet-env"],
    packages: [...PY, "greet", "greet-env", "greetpy", "libgreet"],
    has: ["bin/greet", "bin/greetpy", "etc/conda/env_vars.d/greet-env.json"],
    hasNot: ["bin/greetpy-info", "share/greet-data/words.txt"],
    runs: [
      { entrypoint: "/opt/conda/bin/greetpy", args: ["mixed"], stdout: "greetpy 0.1: Hello from greetpy 0.1, mixed!\ngreetpy: sys.prefix=/opt/conda\ngreetpy: GREET_ENV_MARKER=from-env-vars-d" },
      { entrypoint: "/opt/conda/bin/greet", args: [], stdout: "greet: prefix=/opt/conda\ngreet: libgreet=2.0\ngreet: conf=/opt/conda/etc/greet.conf\ngreet: conf-prefix=/opt/conda\ngreet: Good day, world!" },
    ],
  },
  {
    id: "data-legacy",
    deps: ["greet-data", "legacy-prefix"],
    packages: ["greet-data", "legacy-prefix"],
    has: ["share/greet-data/words.txt", "etc/legacy-prefix.conf", "share/legacy-prefix/untouched.txt"],
    hasNot: ["bin/python3.12", "bin/greet"],
    contains: { "etc/legacy-prefix.conf": "prefix=/opt/conda\nlib=/opt/conda/lib\n" },
  },
];

function envYml(c: Case): string {
  return `${header()}name: concurrent-${c.id}
channels:
  - ${channelUrl}
dependencies:
${c.deps.map((d) => `  - ${d}`).join("\n")}
image:
  base: ${baseImage}
${c.prefix ? `  prefix: ${c.prefix}\n` : ""}`;
}

const tail = (output: string, lines = 40) => output.trimEnd().split("\n").slice(-lines).join("\n");

describe(`eight builds at once on ${engine.label}`, () => {
  it("eight different environments built concurrently all succeed, each image holding exactly its packages", async () => {
    // One run-unique SOURCE_DATE_EPOCH for all eight: their install steps really run this time,
    // and the steps they share (python's, for four of them) are the same steps.
    const epoch = `SOURCE_DATE_EPOCH=${Math.floor(Date.now() / 1000)}`;
    const jobs = cases.map((c) => ({ c, t: tag(`concurrent-${c.id}`), dir: project({ "environment.yml": envYml(c) }) }));
    const started = Date.now();
    const results = await Promise.all(
      jobs.map(async (j) => {
        const res = await buildAsync(engine, j.dir, ["--network=host", "-f", "environment.yml", "--build-arg", epoch, "-t", j.t, "--load", "."]);
        return { ...j, res, seconds: (Date.now() - started) / 1000 };
      }),
    );
    console.log(`8 concurrent builds: ${results.map((r) => `${r.c.id} ${r.seconds.toFixed(1)} s`).join(", ")}`);
    for (const r of results) expect(r.res.code, `${r.c.id}:\n${tail(r.res.output)}`).toBe(0);

    for (const { c, t } of results) {
      const prefix = c.prefix ?? "/opt/conda";
      const files: Map<string, ImageEntry> = await imageEntries(engine, t, prefix, (p) => Object.keys(c.contains ?? {}).some((rel) => p === `${prefix}/${rel}`));
      expect(condaMetaNames(files, prefix), c.id).toEqual([...c.packages].sort());
      expect(c.has.filter((rel) => !files.has(`${prefix}/${rel}`)), `${c.id}: missing`).toEqual([]);
      expect(c.hasNot.filter((rel) => files.has(`${prefix}/${rel}`)), `${c.id}: must not have`).toEqual([]);
      for (const [rel, text] of Object.entries(c.contains ?? {})) expect(files.get(`${prefix}/${rel}`)?.data?.toString("utf8"), `${c.id}: ${rel}`).toContain(text);
      for (const run of c.runs ?? []) {
        const res = docker(engine, ["run", "--rm", "--entrypoint", run.entrypoint, t, ...run.args]);
        expect(res.code, `${c.id}: ${run.entrypoint} ${run.args.join(" ")}: ${res.output}`).toBe(0);
        expect(res.stdout.trim(), `${c.id}: ${run.entrypoint}`).toBe(run.stdout);
      }
    }
    for (const { t } of results) docker(engine, ["rmi", t]);
  }, 300_000);
});
