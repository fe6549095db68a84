// Installing the fixture channel's packages into images through a real BuildKit, then running
// them: CPython repackaged from pyenv, a C program and its library through an $ORIGIN rpath,
// noarch python with a console entry point, env_vars.d.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allEngines, baseImage, build, buildWithSummary, channelUrl, daemonUp, docker, engines, executedSteps, header, inspectConfig, project, stepsThatPrinted, tag } from "./harness";

function envYml(deps: string[], image = ""): string {
  return `${header()}name: greet-env
channels:
  - ${channelUrl}
dependencies:
${deps.map((d) => `  - ${d}`).join("\n")}
variables:
  FROM_VARIABLES: set-by-environment-yml
image:
  base: ${baseImage}
${image}`;
}

const deps = ["python=3.12", "greet", "greetpy=0.2", "greet-env"];
const installSteps = (output: string) => executedSteps(output).filter((s) => /^\[install\] \S+ \S+-\S+$/.test(s));

interface Report {
  prefix: string;
  module: string;
  marker: string;
  variable: string;
  conda_prefix: string;
}

const probe = "import json, os, sys, greetpy; print(json.dumps({'prefix': sys.prefix, 'module': greetpy.__file__, 'marker': os.environ.get('GREET_ENV_MARKER'), 'variable': os.environ.get('FROM_VARIABLES'), 'conda_prefix': os.environ.get('CONDA_PREFIX')}))";

describe.each(engines)("installing on the $name store", (engine) => {
  it.each([
    { prefix: "/opt/conda", image: "" },
    { prefix: "/srv/env", image: "  prefix: /srv/env\n" },
  ])("an environment at $prefix runs python, a noarch package, its entry point and a compiled program", ({ prefix, image }) => {
    const dir = project({ "environment.yml": envYml(deps, image) });
    const t = tag("install");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);

    const py = docker(engine, ["run", "--rm", "--entrypoint", `${prefix}/bin/python`, t, "-c", probe]);
    expect(py.code, py.output).toBe(0);
    const report = JSON.parse(py.stdout) as Report;
    expect(report.prefix).toBe(prefix);
    expect(report.module).toBe(`${prefix}/lib/python3.12/site-packages/greetpy/__init__.py`);
    expect(report.marker).toBe("from-env-vars-d"); // etc/conda/env_vars.d, turned into image ENV
    expect(report.variable).toBe("set-by-environment-yml");
    expect(report.conda_prefix).toBe(prefix);

    const ep = docker(engine, ["run", "--rm", "--entrypoint", "greetpy", t]); // found on PATH
    expect(ep.code, ep.output).toBe(0);
    expect(ep.stdout).toContain("greetpy 0.2: Hello from greetpy 0.2");
    expect(ep.stdout).toContain(`greetpy: sys.prefix=${prefix}`);

    const greet = docker(engine, ["run", "--rm", "--entrypoint", `${prefix}/bin/greet`, t]);
    expect(greet.code, greet.output).toBe(0);
    expect(greet.stdout).toContain(`greet: prefix=${prefix}\n`); // binary placeholder rewritten, NUL-padded
    expect(greet.stdout).toContain("greet: libgreet=2.0"); // found through $ORIGIN/../lib
    expect(greet.stdout).toContain(`greet: conf-prefix=${prefix}`); // text placeholder rewritten

    const history = docker(engine, ["run", "--rm", "--entrypoint", `${prefix}/bin/python`, t, "-c", `import os; print(sorted(os.listdir('${prefix}/conda-meta')))`]);
    expect(history.stdout).toContain("'history'");
    expect(history.stdout).toMatch(/'greet-1\.0-h[0-9a-f]+_0\.json'/);
    expect(history.stdout).toContain("'state'");

    // Nothing in the prefix is writable by the image's (non-root) user.
    const writable = docker(engine, ["run", "--rm", "--entrypoint", `${prefix}/bin/python`, t, "-c", `import os; print([r for r, d, f in os.walk('${prefix}') if os.access(r, os.W_OK)])`]);
    expect(writable.stdout.trim()).toBe("[]");

    // The image's history: each package's layer named after it, the same on both stores (merged
    // or copied), never the install request.
    const layers = docker(engine, ["history", "--no-trunc", "--format", "{{.CreatedBy}}", t]).stdout.trim().split("\n");
    expect(layers).toContainEqual(expect.stringMatching(new RegExp(`^conda-frontend: install greet 1\\.0-h[0-9a-f]+_0 into ${prefix}$`)));
    expect(layers[0]).toBe("conda-frontend: create /app");
    expect(layers[1]).toBe(`conda-frontend: ${prefix}/conda-meta/history and state`);
    expect(layers.filter((l) => l.startsWith("conda-frontend: install "))).toHaveLength(15); // this lock's packages
    // One history entry per layer: every entry describes the layer it stands for.
    expect(layers).toHaveLength(Number(docker(engine, ["image", "inspect", "--format", "{{len .RootFS.Layers}}", t]).stdout.trim()));
    expect(layers.join("\n")).not.toContain('"archive"');

    const env = (inspectConfig(engine, t) as { Env: string[] }).Env;
    expect(env[0]).toBe(`PATH=${prefix}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
    expect(env).toContain("CONDA_DEFAULT_ENV=greet-env");
    // Asserted once: in one CI run (of many) buildx printed no warnings for a build whose
    // frontend sent one; not reproduced since (see the closing note).
    if (engine.name === "classic" && prefix === "/opt/conda") expect(res.output).toContain("activation scripts cannot run in the image");
  });
});

describe.each(allEngines)("one package more re-installs one package on $label", (engine) => {
  it("adding a dependency runs only that package's install step", () => {
    // A run-unique SOURCE_DATE_EPOCH keys every install step anew, so the first build really
    // installs everything even when BuildKit's cache holds an earlier run.
    const epoch = ["--build-arg", `SOURCE_DATE_EPOCH=${Math.floor(Date.now() / 1000)}`];
    const dir = project({ "environment.yml": envYml(deps) });
    const first = build(engine, dir, ["--network=host", "-f", "environment.yml", ...epoch, "."]);
    expect(first.code, first.output).toBe(0);
    const installedFirst = installSteps(first.output);
    expect(installedFirst.length).toBeGreaterThan(10);

    writeFileSync(join(dir, "environment.yml"), envYml([...deps, "greet-data"]));
    const second = build(engine, dir, ["--network=host", "-f", "environment.yml", ...epoch, "."]);
    expect(second.code, second.output).toBe(0);
    expect(installSteps(second.output)).toEqual([expect.stringMatching(/^\[install\] greet-data 1\.0-/)]);
    // Its step downloads it (unless an earlier build left it in the cache mount) and installs it.
    expect(second.output).toMatch(/greet-data-1\.0-h[0-9a-f]+_0\.conda: (\d+ bytes|in the cache)/);
    // The others did not run: none of their steps printed anything. (A step that a cached merge
    // above it made unnecessary may be listed with no status, or on Docker 28.5 not at all, so
    // there is no CACHED line to look for.)
    const printed = stepsThatPrinted(second.output);
    for (const name of ["python", "greet", "libgreet", "greetpy"]) {
      expect(printed.filter((s) => s.startsWith(`[install] ${name} `))).toEqual([]);
    }
  });
});

describe("bad packages fail at their line, and the daemon stays up", () => {
  const engine = engines[0]!;
  it("a package whose bytes do not match its sha256", () => {
    const dir = project({ "environment.yml": envYml(["greet-data", "bad-sha"]) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/bad-sha-1\.0-h[0-9a-f]+_0\.conda from http:\/\/127\.0\.0\.1:8765\/noarch\/bad-sha-1\.0-h[0-9a-f]+_0\.conda: download failed after 2 tries: sha256 mismatch: the lock says [0-9a-f]{64}, the download \(\d+ bytes\) is [0-9a-f]{64}/);
    expect(res.output).toMatch(/\n\s*7 \| >>>\s+- bad-sha/);
    expect(daemonUp(engine)).toBe(true);
  });

  it("an archive with a ../ entry", () => {
    const dir = project({ "environment.yml": envYml(["greet-data", "evil-path"]) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toContain('evil-path: refusing the path "../etc/evil": it leaves the prefix');
    expect(res.output).toMatch(/\n\s*7 \| >>>\s+- evil-path/);
    expect(daemonUp(engine)).toBe(true);
  });

  it("a prefix longer than a binary placeholder", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12"], "  prefix: /opt/a-prefix-much-longer-than-pyenvs\n") });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/is longer than the package's binary placeholder .*choose a shorter image\.prefix/);
    expect(daemonUp(engine)).toBe(true);
  });
});

describe("post-link scripts and .pyc files (classic store)", () => {
  const engine = engines[0]!;
  const shellBase = "localhost:5000/debian-busybox:12";
  const readRan = (t: string) => docker(engine, ["run", "--rm", "--entrypoint", "/bin/cat", t, "/opt/conda/share/greet-postlink/ran.txt"]);

  it("does not run post-link scripts by default, and says which packages ship one", () => {
    const dir = project({ "environment.yml": envYml(["greet-data", "greet-postlink"], "").replace(baseImage, shellBase) });
    const t = tag("postlink-skip");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain("these packages ship post-link scripts, which were not run");
    expect(res.output).toContain("greet-postlink");
    expect(readRan(t).code).not.toBe(0);
  });

  it("runs them with image.post-link: run, on a base with a shell", () => {
    const dir = project({ "environment.yml": envYml(["greet-data", "greet-postlink"], "  post-link: run\n").replace(baseImage, shellBase) });
    const t = tag("postlink-run");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain("[post-link] greet-postlink 1.0");
    const ran = readRan(t);
    expect(ran.code, ran.output).toBe(0);
    expect(ran.stdout.trim()).toBe("post-link ran for greet-postlink 1.0 in /opt/conda");
  });

  it("refuses image.post-link: run on a base without /bin/sh, at the line", () => {
    const dir = project({ "environment.yml": envYml(["greet-data", "greet-postlink"], "  post-link: run\n") });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/environment\.yml:12: image\.post-link: run needs \/bin\/sh in the base image/);
    expect(daemonUp(engine)).toBe(true);
  });

  it("compiles .pyc files by default, and not with compile-pyc: false", () => {
    const cached = "import greetpy, os, sys; print(os.path.exists(greetpy.__cached__), sys.dont_write_bytecode)";
    const on = project({ "environment.yml": envYml(["python=3.12", "greetpy"]) });
    const tOn = tag("pyc-on");
    expect(build(engine, on, ["--network=host", "-f", "environment.yml", "-t", tOn, "--load", "."]).code).toBe(0);
    expect(docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", tOn, "-c", cached]).stdout.trim()).toBe("True False");
    const stdlibPyc = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", tOn, "-c", "import json, os; print(os.path.exists(json.__cached__))"]);
    expect(stdlibPyc.stdout.trim()).toBe("True");
    // Unchecked-hash .pyc (flags 1) whose code names its source at the prefix, not the step's folder.
    const header = "import greetpy, marshal; d = open(greetpy.__cached__, 'rb').read(); print(int.from_bytes(d[4:8], 'little'), marshal.loads(d[16:]).co_filename)";
    expect(docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", tOn, "-c", header]).stdout.trim()).toBe("1 /opt/conda/lib/python3.12/site-packages/greetpy/__init__.py");

    const off = project({ "environment.yml": envYml(["python=3.12", "greetpy"], "  compile-pyc: false\n") });
    const tOff = tag("pyc-off");
    expect(build(engine, off, ["--network=host", "-f", "environment.yml", "-t", tOff, "--load", "."]).code).toBe(0);
    const none = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", tOff, "-c", "import os; print(sum(f.endswith('.pyc') for r, d, fs in os.walk('/opt/conda') for f in fs))"]);
    expect(none.stdout.trim()).toBe("0");
  });
});

describe.each(engines)("reproducible layers on the $name store", (engine) => {
  it("builds the same layers again from scratch with the same SOURCE_DATE_EPOCH, every folder at that time", () => {
    const epoch = 1_600_000_000;
    const dir = project({ "environment.yml": envYml(["python=3.12", "greet", "greetpy"]) });
    const layersOf = (t: string) => JSON.parse(docker(engine, ["image", "inspect", "-f", "{{json .RootFS.Layers}}", t]).stdout) as string[];
    const tags = [tag("repro-a"), tag("repro-b")];
    for (const t of tags) {
      const res = build(engine, dir, ["--network=host", "--no-cache", "-f", "environment.yml", "--build-arg", `SOURCE_DATE_EPOCH=${epoch}`, "-t", t, "--load", "."]);
      expect(res.code, res.output).toBe(0);
    }
    const [a, b] = tags.map(layersOf);
    expect(a!.length).toBeGreaterThan(10);
    expect(b).toEqual(a);
    // Folders made by the install steps, __pycache__ (made by python) included.
    const folders = "import os, sys; print(sorted({int(os.lstat(r).st_mtime) for r, d, f in os.walk(sys.prefix)}), sum('__pycache__' in r for r, d, f in os.walk(sys.prefix)) > 0)";
    const res = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", tags[0]!, "-c", folders]);
    expect(res.code, res.output).toBe(0);
    expect(res.stdout.trim()).toBe(`[${epoch}] True`);
  });
});

describe("pruning while installing (classic store)", () => {
  const engine = engines[0]!;
  const listing = (t: string) =>
    docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import os; print(sorted(os.path.relpath(os.path.join(r, f), '/opt/conda') for r, d, fs in os.walk('/opt/conda') for f in fs if f.endswith('.a') or r.startswith('/opt/conda/include')))"]).stdout.trim();

  it("by default (safe) no include/ and no static libraries reach the image, and the programs still run", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "greet"]) });
    const t = tag("prune-safe");
    const res = buildWithSummary(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(listing(t)).toBe("[]");
    expect(docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/greet", t]).stdout).toContain("greet: libgreet=2.0");
    // The summary: what each rule left out, and the environment's size as the image has it.
    const summary = /environment \/opt\/conda: ([\d.]+) (KiB|MiB) in (\d+) files from (\d+) packages; image\.prune \(safe\) left out [\d.]+ \w+ in \d+ files: (.*)/.exec(res.output);
    expect(summary, res.output).not.toBeNull();
    expect(summary![5]).toMatch(/include\/\*\* [\d.]+ (KiB|MiB) \(\d+ files\)/);
    expect(summary![5]).toMatch(/\*\.a [\d.]+ (B|KiB|MiB) \(\d+ files?\)/);
    const reported = Number(summary![1]) * (summary![2] === "MiB" ? 1024 * 1024 : 1024);
    const measured = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c", "import os; print(sum(os.lstat(os.path.join(r, f)).st_size for r, d, fs in os.walk('/opt/conda') for f in fs if os.path.isfile(os.path.join(r, f)) and not os.path.islink(os.path.join(r, f))))"]).stdout.trim();
    expect(Math.abs(reported - Number(measured)) / Number(measured)).toBeLessThan(0.05);
  });

  it("prune: none keeps them; an invalid glob is an error at its line", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "greet"], "  prune: none\n") });
    const t = tag("prune-none");
    const res0 = buildWithSummary(engine, dir, ["--network=host", "-f", "environment.yml", "-t", t, "--load", "."]);
    expect(res0.code).toBe(0);
    expect(listing(t)).toContain("'include/greet.h'");
    expect(listing(t)).toContain("'lib/libgreet.a'");
    expect(res0.output).toMatch(/environment \/opt\/conda: [\d.]+ MiB in \d+ files from \d+ packages; image\.prune \(none\) left nothing out/);

    const bad = project({ "environment.yml": envYml(["greet"], "  prune:\n    preset: safe\n    remove: ['share/{doc']\n") });
    const res = build(engine, bad, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/environment\.yml:13: image\.prune\.remove: invalid glob "share\/\{doc": unclosed \{/);
  });
});

describe.each(engines)("what a clean build prints on $label", (engine) => {
  it("no warning at all, and the size summary as a step of its own in the progress output", () => {
    const dir = project({ "environment.yml": envYml(["python=3.12", "greet"]) });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "."]);
    expect(res.code, res.output).toBe(0);
    // buildx ends a build that had warnings with "N warning(s) found" and lists them under WARN.
    expect(res.output, res.output).not.toMatch(/warnings? found|^WARN/m);
    expect(res.output).toMatch(/^#\d+ \[info\] linux\/amd64: environment \/opt\/conda: [\d.]+ MiB in \d+ files from \d+ packages/m);
  });
});
