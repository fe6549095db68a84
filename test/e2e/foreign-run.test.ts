// foreign-run.ts against the real things: the arm64 half of the base images, and the fixture
// channel's linux-aarch64 packages (greet, Debian's python 3.11) installed by our own installer
// into an arm64 root filesystem, run under qemu-aarch64-static without binfmt_misc.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPackage } from "../../src/build-step/install/install";
import { baseImage, channelUrl } from "./harness";
import { binfmtHandlers, imageRootfs, noBinfmtHandler, platformManifest, qemuAarch64, runForeign } from "./foreign-run";

const channel = process.env.E2E_CHANNEL_URL ?? channelUrl;
const busyboxImage = "localhost:5000/debian-busybox:12";
const prefix = "/opt/conda";

interface Record_ {
  name: string;
  version: string;
  sha256: string;
}

/** Installs the newest (or the given version of) each package into <root>/opt/conda with the project's installer. */
async function install(root: string, cache: string, subdir: string, specs: string[]): Promise<void> {
  const repodata = new Map<string, Record<string, Record_>>();
  for (const s of [subdir, "noarch"]) {
    const rd = (await (await fetch(`${channel}/${s}/repodata.json`)).json()) as { "packages.conda": Record<string, Record_> };
    repodata.set(s, rd["packages.conda"]);
  }
  const chosen = specs.map((spec) => {
    const [name, version] = spec.split("=");
    for (const [s, pkgs] of repodata) {
      const hits = Object.entries(pkgs).filter(([, r]) => r.name === name && (version === undefined || r.version === version));
      hits.sort(([, a], [, b]) => (a.version < b.version ? 1 : -1));
      if (hits[0]) return { subdir: s, filename: hits[0][0], record: hits[0][1] };
    }
    throw new Error(`${spec}: not in ${channel} (${subdir})`);
  });
  for (const c of chosen) {
    const bytes = Buffer.from(await (await fetch(`${channel}/${c.subdir}/${c.filename}`)).arrayBuffer());
    writeFileSync(join(cache, c.filename), bytes);
  }
  const python = chosen.find((c) => c.record.name === "python");
  for (const c of chosen) {
    await installPackage({
      archive: join(cache, c.filename),
      url: `${channel}/${c.subdir}/${c.filename}`,
      filename: c.filename,
      sha256: c.record.sha256,
      prefix,
      outRoot: root,
      pythonArchive: python ? join(cache, python.filename) : undefined,
      epoch: 0,
    });
  }
}

const lines = (s: string) => s.trim().split("\n");

describe("foreign-run: arm64 under qemu-aarch64-static, no binfmt_misc", () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "foreign-run-"));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("finds no binfmt handler that could emulate arm64", () => {
    expect(() => noBinfmtHandler()).not.toThrow();
    expect([...binfmtHandlers().keys()].filter((n) => /qemu|aarch64/i.test(n))).toEqual([]);
  });

  it("the base images are indexes with a linux/arm64 manifest beside linux/amd64", async () => {
    const amd = await platformManifest(baseImage, "linux/amd64");
    const arm = await platformManifest(baseImage, "linux/arm64");
    expect(amd).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(arm).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(arm).not.toBe(amd);
  });

  it("runs busybox of debian-busybox:12's arm64 root filesystem, as nonroot by default", async () => {
    const root = join(work, "busybox");
    await imageRootfs(busyboxImage, "linux/arm64", root);
    const bin = readFileSync(join(root, "bin/busybox"));
    expect(bin.readUInt16LE(18)).toBe(183); // EM_AARCH64
    // the machine itself cannot run it: nothing registered would hand it to qemu
    // (execve says ENOEXEC; libuv's execvp then hands the file to /bin/sh, which fails on it)
    const direct = spawnSync(join(root, "bin/busybox"), ["echo", "ran-natively"], { encoding: "utf8" });
    expect(direct.status).not.toBe(0);
    expect(direct.stdout).not.toContain("ran-natively");

    const r = runForeign(root, ["/bin/busybox", "sh", "-c", "uname -m; id -u; id -g; pwd; echo $GREETING"], { env: { GREETING: "hi from arm64" }, cwd: "/tmp" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual(["aarch64", "65532", "65532", "/tmp", "hi from arm64"]);
    expect(lines(runForeign(root, ["/bin/busybox", "id", "-u"], { user: "0:0" }).stdout)).toEqual(["0"]);
    const failed = runForeign(root, ["/bin/busybox", "sh", "-c", "echo oops >&2; exit 7"]);
    expect(failed).toEqual({ status: 7, stdout: "", stderr: "oops\n" });
  });

  it("runs greet and Debian's python 3.11 from the fixture channel, installed into the arm64 distroless base", async () => {
    const root = join(work, "base");
    const cache = join(work, "pkgs");
    mkdirSync(cache, { recursive: true });
    await imageRootfs(baseImage, "linux/arm64", root);
    await install(root, cache, "linux-aarch64", [
      "python=3.11.2", "zlib", "bzip2", "xz", "libffi", "libsqlite", "openssl", "ncurses", "readline", "libuuid", "libxcrypt", "expat",
      "pip", "setuptools", "wheel", "greetpy=0.2", "libgreet", "greet",
    ]);
    const env = { PATH: `${prefix}/bin:/usr/bin:/bin`, HOME: "/tmp" };

    const greet = runForeign(root, [`${prefix}/bin/greet`, "qemu"], { env });
    expect(greet.status).toBe(0);
    expect(lines(greet.stdout)).toEqual([
      `greet: prefix=${prefix}`,
      "greet: libgreet=2.0",
      `greet: conf=${prefix}/etc/greet.conf`,
      `greet: conf-prefix=${prefix}`,
      "greet: Good day, qemu!",
    ]);

    const code = "import ssl, sqlite3, decimal, ctypes, lzma, bz2, zlib, readline, sys, platform; print(platform.machine()); print(sys.version.split()[0]); print(sys.prefix); print(sys.path)";
    const py = runForeign(root, [`${prefix}/bin/python3.11`, "-c", code], { env });
    expect(py.stderr).toBe("");
    expect(lines(py.stdout)).toEqual([
      "aarch64",
      "3.11.2",
      prefix,
      `['', '${prefix}/lib/python311.zip', '${prefix}/lib/python3.11', '${prefix}/lib/python3.11/lib-dynload', '${prefix}/lib/python3.11/site-packages']`,
    ]);

    const greetpy = runForeign(root, [`${prefix}/bin/python3.11`, `${prefix}/bin/greetpy`, "arm"], { env });
    expect(lines(greetpy.stdout).slice(0, 2)).toEqual(["greetpy 0.2: Hello from greetpy 0.2, arm!", `greetpy: sys.prefix=${prefix}`]);

    // pip installs into lib/python3.11/site-packages (not Debian's dist-packages)
    mkdirSync(join(root, "wheels"));
    for (const f of ["index.html", "greetwheel-1.0-py3-none-any.whl"]) writeFileSync(join(root, "wheels", f), Buffer.from(await (await fetch(`${channel}/wheels/${f}`)).arrayBuffer()));
    const pip = runForeign(root, [`${prefix}/bin/python3.11`, "-m", "pip", "install", "--no-index", "--find-links", "/wheels", "--root-user-action=ignore", "--disable-pip-version-check", "greetwheel"], { env, user: "0:0" });
    expect(pip.status, pip.stderr).toBe(0);
    const imported = runForeign(root, [`${prefix}/bin/python3.11`, "-c", "import greetwheel; print(greetwheel.__file__)"], { env });
    expect(imported.stdout.trim()).toBe(`${prefix}/lib/python3.11/site-packages/greetwheel/__init__.py`);
  }, 300_000);

  it("qemu is Debian's static build, in .tools", () => {
    const v = spawnSync(qemuAarch64, ["--version"], { encoding: "utf8" });
    expect(v.stdout).toMatch(/^qemu-aarch64 version \d+\.\d+.*Debian/);
  });
});
