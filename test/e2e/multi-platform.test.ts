// Multi-platform images without emulation: one `--platform linux/amd64,linux/arm64 --push` build
// of an environment with python 3.11, a C program, a noarch python package, a pip: wheel and
// app.install: pip, on an amd64 machine with no binfmt handler registered (checked before every
// build), so no arm64 program can have run while building. Both images then pass the same checks,
// amd64 with `docker run`, arm64 under qemu-user in a chroot (test/e2e/foreign-run.ts): python
// imports what the environment has, the C program finds its library through its rpath, entry points
// name the prefix's python, imports load the image's .pyc, and every .pyc checked is byte for byte
// what the platform's own python compiles from its source.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multiPlatformEnvironment } from "../fixtures/multi-platform-env";
import { pythonApp } from "../fixtures/python-app";
import { imageRootfs, noBinfmtHandler, platformManifest, runForeign } from "./foreign-run";
import { allEngines, baseImage, build, channelUrl, docker, type Engine, engines, header, project, tag } from "./harness";

const appMain = `import platform, sys


def run():
    print("mpapp on %s, python %d.%d" % (platform.machine(), sys.version_info[0], sys.version_info[1]))
`;

function environmentYml(name: string): string {
  return multiPlatformEnvironment({ header: header(), name, channel: channelUrl, base: baseImage, app: "mpapp" });
}

const site = "/opt/conda/lib/python3.11/site-packages";

/**
 * Recompiles, with the running python, each .pyc under the given folders from its source, the way
 * it was made (hash-based: the source's hash; else the source's time and size), and compares: the
 * 16-byte header byte for byte, and the code objects (equal, and naming the same file, nested ones
 * too). marshal's reference flags depend on the compiling process's reference counts (what it
 * compiled before), so the rest of the bytes may differ between two compiles on one machine;
 * those files are counted apart. Prints "<checked> <different> <byte-identical> <names...>".
 */
const compareScript = `import importlib.util, marshal, os, sys
from importlib._bootstrap_external import _code_to_hash_pyc, _code_to_timestamp_pyc
tag = sys.implementation.cache_tag

def same(a, b):
    if a != b or a.co_filename != b.co_filename:
        return False
    inner = lambda c: [k for k in c.co_consts if hasattr(k, "co_code")]
    return all(same(x, y) for x, y in zip(inner(a), inner(b)))

checked, identical, different = 0, 0, []
for top in sys.argv[1:]:
    for folder, _, files in os.walk(top):
        if os.path.basename(folder) != "__pycache__":
            continue
        for f in sorted(files):
            if not f.endswith("." + tag + ".pyc"):
                continue
            src = os.path.join(os.path.dirname(folder), f[: -len("." + tag + ".pyc")] + ".py")
            if not os.path.exists(src):
                continue
            with open(os.path.join(folder, f), "rb") as h:
                have = h.read()
            with open(src, "rb") as h:
                source = h.read()
            code = compile(source, src, "exec", dont_inherit=True)
            flags = int.from_bytes(have[4:8], "little")
            if flags & 1:
                want = bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), bool(flags & 2)))
            else:
                st = os.stat(src)
                want = bytes(_code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))
            checked += 1
            identical += have == want
            if have[:16] != want[:16] or not same(marshal.loads(have[16:]), marshal.loads(want[16:])):
                different.append(src)
print(checked, len(different), identical, " ".join(different[:5]))
`;

interface Runner {
  run(argv: string[]): { status: number | null; stdout: string; stderr: string };
  /** Puts a file into the image's filesystem for the run (a copy: the image is not changed). */
  writeFile(path: string, text: string): void;
}

/** The same checks for either platform's image. */
function checkImage(r: Runner, machine: string): void {
  const py = r.run(["/opt/conda/bin/python3.11", "-I", "-c", "import sys, ssl, sqlite3, decimal, ctypes, lzma, bz2, zlib, greetpy, greetwheel, mpapp; print(sys.prefix, '%d.%d' % sys.version_info[:2], ssl.OPENSSL_VERSION.split()[0])"]);
  expect(py.status, py.stderr).toBe(0);
  expect(py.stdout.trim()).toBe("/opt/conda 3.11 OpenSSL");

  const greet = r.run(["/opt/conda/bin/greet"]);
  expect(greet.status, greet.stderr).toBe(0);
  expect(greet.stdout).toContain("greet: prefix=/opt/conda");
  expect(greet.stdout).toContain("greet: libgreet=2.0");

  // The app's entry point: its #! line names the prefix's python (written by the build machine's).
  const script = r.run(["/opt/conda/bin/python3.11", "-c", "print(open('/opt/conda/bin/mpapp').readline().strip())"]);
  expect(script.stdout.trim()).toMatch(/^#!\/opt\/conda\/bin\/python(3(\.11)?)?$/);
  const app = r.run(["/opt/conda/bin/python3.11", "/opt/conda/bin/mpapp"]);
  expect(app.status, app.stderr).toBe(0);
  expect(app.stdout.trim()).toBe(`mpapp on ${machine}, python 3.11`);

  // Imports load the image's .pyc: python -v says where each code object came from.
  // -I: not the app's source in the working directory (/app/mpapp), the installed package.
  const verbose = r.run(["/opt/conda/bin/python3.11", "-I", "-v", "-c", "import json, greetpy, greetwheel, mpapp"]);
  for (const pyc of ["/opt/conda/lib/python3.11/json/__pycache__/__init__.cpython-311.pyc", `${site}/greetwheel/__pycache__/__init__.cpython-311.pyc`, `${site}/mpapp/__pycache__/__init__.cpython-311.pyc`]) {
    expect(verbose.stderr).toContain(`code object from '${pyc}'`);
  }

  // Every .pyc of these folders is what this platform's python compiles from the source.
  r.writeFile("/tmp/compare-pyc.py", compareScript);
  const compared = r.run(["/opt/conda/bin/python3.11", "-I", "/tmp/compare-pyc.py", "/opt/conda/lib/python3.11/json", "/opt/conda/lib/python3.11/encodings", `${site}/greetpy`, `${site}/greetwheel`, `${site}/mpapp`]);
  expect(compared.status, compared.stderr).toBe(0);
  const [checked, different, identical, ...names] = compared.stdout.trim().split(" ");
  expect(Number(checked)).toBeGreaterThan(100);
  expect(Number(different), names.join(" ")).toBe(0);
  // Most are byte for byte the same; the rest differ only in marshal's reference flags.
  expect(Number(identical)).toBeGreaterThan(Number(checked) * 0.8);
}

/** amd64: the image run by the engine itself. */
function nativeRunner(engine: Engine, ref: string): Runner {
  const files: Record<string, string> = {};
  return {
    run: (argv) => {
      const mounts = Object.entries(files).flatMap(([path, text]) => {
        const host = join(mkdtempSync(join(tmpdir(), "mp-file-")), "f");
        writeFileSync(host, text);
        return ["-v", `${host}:${path}:ro`];
      });
      const r = docker(engine, ["run", "--rm", "--platform", "linux/amd64", ...mounts, "--entrypoint", argv[0]!, ref, ...argv.slice(1)]);
      return { status: r.code, stdout: r.stdout, stderr: r.stderr };
    },
    writeFile: (path, text) => void (files[path] = text),
  };
}

/** arm64: the image's filesystem, run under qemu-user in a chroot. */
function foreignRunner(rootfs: string): Runner {
  return {
    run: (argv) => runForeign(rootfs, argv),
    writeFile: (path, text) => writeFileSync(join(rootfs, path), text),
  };
}

const work = mkdtempSync(join(tmpdir(), "cf-e2e-mp-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// The containerd store builds both platforms in one build; Docker's classic store cannot.
const mpEngines = allEngines.filter((e) => e.containerdStore);

describe.each(mpEngines.map((e) => [e.name, e] as const))("linux/amd64 + linux/arm64 in one build, no emulation (%s)", (_, engine) => {
  let ref = "";
  let output = "";

  beforeAll(() => {
    noBinfmtHandler();
    const dir = project({ "environment.yml": environmentYml("mp"), ...pythonApp("mpapp", appMain) });
    ref = `localhost:5000/${tag("mp")}`;
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", "."]);
    output = res.output;
    expect(res.code, res.output).toBe(0);
    noBinfmtHandler();
  });

  it("pushes an index with both platforms, and compiles arm64's .pyc without saying it could not", async () => {
    expect(await platformManifest(ref, "linux/amd64")).toMatch(/^sha256:/);
    expect(await platformManifest(ref, "linux/arm64")).toMatch(/^sha256:/);
    expect(await platformManifest(ref, "linux/arm64")).not.toBe(await platformManifest(ref, "linux/amd64"));
    expect(output).not.toMatch(/\.pyc files are not compiled/);
    expect(output).toMatch(/\[pip\] install .*greetwheel==1\.0/);
  });

  it("gives an amd64 image that passes the checks (python, the C program, entry points, .pyc)", () => {
    checkImage(nativeRunner(engine, ref), "x86_64");
  });

  it("gives an arm64 image that passes the same checks under qemu-user, its .pyc equal to what arm64's python compiles", async () => {
    const rootfs = join(work, `${engine.name}-arm64`);
    await imageRootfs(ref, "linux/arm64", rootfs);
    checkImage(foreignRunner(rootfs), "aarch64");
  });
});

describe("linux/arm64 alone from a lock without linux-64 (classic store)", () => {
  const engine = engines[0]!;

  it("fails a pip: requirement that has only an sdist, at the pip: list, saying only wheels install for arm64", () => {
    noBinfmtHandler();
    const yml = environmentYml("mp-sdist").replace("greetwheel==1.0", "greetsdist==1.0").replace(/  app:\n(    .*\n)+/, "");
    const dir = project({ "environment.yml": yml });
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--platform", "linux/arm64", "--output", "type=cacheonly", "."]);
    expect(res.code, res.output).not.toBe(0);
    expect(res.output).toContain("pip: for linux_aarch64 (python 3.11) only wheels can be installed");
    // BuildKit shows the pip: list's lines of environment.yml under the failed step.
    expect(res.output).toMatch(/environment\.yml:\d+/);
    expect(res.output).toMatch(/>>>\s+- greetsdist==1\.0/);
    noBinfmtHandler();
  });

  it("solves a python 3.11.2 for the build machine to compile with, and the image's .pyc are arm64 python's", async () => {
    noBinfmtHandler();
    const dir = project({ "environment.yml": environmentYml("mp-arm").replace(/  - pip:\n(    - .*\n)+/, "").replace(/  app:\n(    .*\n)+/, "") });
    const lockRes = build(engine, dir, ["--network=host", "-f", "environment.yml", "--platform", "linux/arm64", "--target", "lock", "--output", `type=local,dest=${dir}`, "."]);
    expect(lockRes.code, lockRes.output).toBe(0);
    const ref = `localhost:5000/${tag("mp-arm")}`;
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--platform", "linux/arm64", "-t", ref, "--push", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\[solve linux-64\] 1 spec from 1 channel/);
    expect(res.output).not.toMatch(/\.pyc files are not compiled/);
    noBinfmtHandler();
    const rootfs = join(work, "classic-arm64");
    await imageRootfs(ref, "linux/arm64", rootfs);
    const r = foreignRunner(rootfs);
    r.writeFile("/tmp/compare-pyc.py", compareScript);
    const compared = r.run(["/opt/conda/bin/python3.11", "-I", "/tmp/compare-pyc.py", "/opt/conda/lib/python3.11/json", `${site}/greetpy`]);
    expect(compared.status, compared.stderr).toBe(0);
    const [checked, different] = compared.stdout.trim().split(" ");
    expect(Number(checked)).toBeGreaterThan(5);
    expect(Number(different)).toBe(0);
  });
});
