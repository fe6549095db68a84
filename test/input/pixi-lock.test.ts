// readPixiLock(): pixi.lock versions 5-7 into a Lock for one environment and the subdirs built.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../src/input/errors";
import { type PixiLock, readPixiLock } from "../../src/input/pixi-lock";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pixi/${name}`, import.meta.url), "utf8");
const base = "http://127.0.0.1:8765";
const sha = (c: string) => c.repeat(64);

function problems(text: string, environment?: string, subdirs = ["linux-64"]): string[] {
  try {
    readPixiLock("pixi.lock", text, { environment, subdirs });
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return e.problems.map((p) => `${p.range?.start.line ?? "-"}: ${p.message}`);
  }
  throw new Error("expected a SpecError");
}

const names = (lock: PixiLock) => lock.packages.map((p) => `${p.manager}:${p.name}`).sort();

describe.each(["pixi-v6.lock", "pixi-v7.lock"])("the fixture %s", (file) => {
  const text = fixture(file);

  it("reads the default environment's conda packages and wheel", () => {
    const lock = readPixiLock("pixi.lock", text, { subdirs: ["linux-64"] });
    expect(lock.fileVersion).toBe(file === "pixi-v6.lock" ? 6 : 7);
    expect(lock.environmentName).toBe("default");
    expect(lock.environmentNames).toEqual(["default", "extra"]);
    expect(lock.platforms).toEqual(["linux-64"]);
    expect(lock.channels).toEqual([base]);
    expect(lock.pypiIndexes).toEqual(["https://pypi.org/simple"]);
    expect(lock.findLinks).toEqual([`${base}/wheels/index.html`]);
    expect(lock.sources).toEqual(["pixi.lock"]);
    expect(lock.ours).toBe(false);
    expect(lock.packages).toHaveLength(17);
    const python = lock.packages.find((p) => p.name === "python")!;
    expect(python).toEqual({
      name: "python",
      version: "3.12.1",
      build: "hbac6bf3_0_cpython",
      platform: "linux-64",
      manager: "conda",
      url: `${base}/linux-64/python-3.12.1-hbac6bf3_0_cpython.conda`,
      filename: "python-3.12.1-hbac6bf3_0_cpython.conda",
      md5: "fbc65eafb806a99f1462bc01973b3705",
      sha256: "c9cec9347914bb1b6d3977e67d12ff347f5b0445da33eb40295b2370081765a3",
      dependencies: {
        __glibc: ">=2.17", bzip2: ">=1.0.8,<2.0a0", libffi: ">=3.4.4,<4.0a0", libsqlite: ">=3.40.1,<4.0a0", libuuid: ">=2.38.1,<3.0a0",
        libxcrypt: ">=4.4.33,<5.0a0", ncurses: ">=6.4,<7.0a0", openssl: ">=3.0.19,<4.0a0", readline: ">=8.2,<9.0a0", xz: ">=5.4.1,<6.0a0", zlib: ">=1.2.13,<2.0a0",
      },
      category: "main",
      optional: false,
    });
    // noarch packages are installed on the subdir built.
    const pip = lock.packages.find((p) => p.name === "pip")!;
    expect([pip.platform, pip.url, pip.build, pip.dependencies]).toEqual(["linux-64", `${base}/noarch/pip-25.1.1-pyhd8ed1ab_0.conda`, "pyhd8ed1ab_0", { python: ">=3.8", setuptools: "*", wheel: "*" }]);
    const wheel = lock.packages.find((p) => p.manager === "pip")!;
    expect(wheel).toEqual({
      name: "greetwheel",
      version: "1.0",
      build: "",
      platform: "linux-64",
      manager: "pip",
      url: `${base}/wheels/greetwheel-1.0-py3-none-any.whl`,
      filename: "greetwheel-1.0-py3-none-any.whl",
      md5: undefined,
      sha256: "52efabd85929e8b4dc15aef6f6494ffd31711f5c7480b0dd74d05ace0b767b44",
      dependencies: {},
      category: "main",
      optional: false,
    });
  });

  it("reads the environment with the extra feature", () => {
    const lock = readPixiLock("pixi.lock", text, { environment: "extra", subdirs: ["linux-64"] });
    expect(lock.packages).toHaveLength(18);
    expect(names(lock)).toContain("conda:greetpy");
    expect(names(readPixiLock("pixi.lock", text, { subdirs: ["linux-64"] }))).not.toContain("conda:greetpy");
  });

  it("names the environments when asked for one that is not there", () => {
    expect(problems(text, "prod")).toEqual([`${file === "pixi-v6.lock" ? 2 : 4}: pixi.lock has no environment "prod"; its environments: default, extra`]);
  });

  it("says how to lock a platform the environment lacks", () => {
    expect(problems(text, undefined, ["linux-64", "linux-aarch64"])).toEqual([
      `${file === "pixi-v6.lock" ? 10 : 12}: pixi.lock has no linux-aarch64 packages for environment default; run \`pixi lock\` with linux-aarch64 in platforms`,
    ]);
  });

  it("gives the same lock for both versions", () => {
    const other = fixture(file === "pixi-v6.lock" ? "pixi-v7.lock" : "pixi-v6.lock");
    const strip = (l: PixiLock) => ({ ...l, fileVersion: 0, packages: [...l.packages].sort((a, b) => a.url.localeCompare(b.url)) });
    expect(strip(readPixiLock("pixi.lock", text, { environment: "extra", subdirs: ["linux-64"] }))).toEqual(strip(readPixiLock("pixi.lock", other, { environment: "extra", subdirs: ["linux-64"] })));
  });
});

const v7 = (packages: string, selectors: string) => `version: 7
platforms:
  - name: linux-64
environments:
  default:
    channels:
      - url: ${base}/
    packages:
      linux-64:
${selectors}
packages:
${packages}`;

describe("versions", () => {
  it("refuses versions newer than 7 and older than 5", () => {
    expect(problems("version: 8\nenvironments: {}\npackages: []\n")).toEqual([
      "1: pixi.lock version 8 is newer than this frontend reads (5-7); use a conda-frontend release that reads it, or lock with a pixi that writes version 7",
    ]);
    expect(problems("version: 4\n")).toEqual(["1: pixi.lock version 4 is older than this frontend reads (5-7); run `pixi lock` with a current pixi to rewrite it"]);
    expect(problems("environments: {}\n")[0]).toMatch(/^1: expected version: 5, 6 or 7/);
  });

  it("reads version 5: kind-tagged records with url and explicit fields", () => {
    const text = `version: 5
environments:
  default:
    channels:
      - url: ${base}/
    packages:
      linux-64:
        - conda: ${base}/linux-64/zlib-1.2.13-h1a77b30_0.conda
        - pypi: ${base}/wheels/greetwheel-1.0-py3-none-any.whl
packages:
  - kind: conda
    name: zlib
    version: 1.2.13
    build: h1a77b30_0
    subdir: linux-64
    url: ${base}/linux-64/zlib-1.2.13-h1a77b30_0.conda
    sha256: 024231fc4cd9eae11e497f96e264082989f89f3da2116fd2cf95272764ca4d5e
    md5: 420790ceab3635581ff879b53b1f652b
    depends:
      - __glibc >=2.17
  - kind: pypi
    name: greetwheel
    version: '1.0'
    url: ${base}/wheels/greetwheel-1.0-py3-none-any.whl
    sha256: ${sha("b")}
    requires_dist:
      - requests >=2 ; python_version >= "3.8"
      - pytest ; extra == "test"
`;
    const lock = readPixiLock("pixi.lock", text, { subdirs: ["linux-64"] });
    expect(lock.packages.map((p) => [p.manager, p.name, p.version, p.build, p.dependencies])).toEqual([
      ["conda", "zlib", "1.2.13", "h1a77b30_0", { __glibc: ">=2.17" }],
      ["pip", "greetwheel", "1.0", "", { requests: ">=2" }],
    ]);
  });

  it("keys version 7's packages by platform name, resolved through platforms:", () => {
    const text = v7(`  - conda: ${base}/linux-64/zlib-1.2.13-h1a77b30_0.conda\n    sha256: ${sha("a")}\n`, `        - conda: ${base}/linux-64/zlib-1.2.13-h1a77b30_0.conda`)
      .replace("  - name: linux-64\n", "  - name: cuda-box\n    subdir: linux-64\n    virtual-packages:\n      - __cuda=12\n")
      .replace("      linux-64:\n", "      cuda-box:\n");
    expect(readPixiLock("pixi.lock", text, { subdirs: ["linux-64"] }).packages.map((p) => p.name)).toEqual(["zlib"]);
  });

  it("tells records sharing a URL apart by the version 6 selector's fields", () => {
    const url = `${base}/linux-64/zlib-1.2.13-h1a77b30_0.conda`;
    const text = `version: 6
environments:
  default:
    channels: []
    packages:
      linux-64:
        - conda: ${url}
          build: other_0
packages:
  - conda: ${url}
    sha256: ${sha("a")}
  - conda: ${url}
    build: other_0
    sha256: ${sha("c")}
`;
    expect(readPixiLock("pixi.lock", text, { subdirs: ["linux-64"] }).packages.map((p) => [p.build, p.sha256])).toEqual([["other_0", sha("c")]]);
  });
});

describe("what cannot be installed", () => {
  const zlib = `${base}/linux-64/zlib-1.2.13-h1a77b30_0.conda`;

  it("refuses conda source packages, in either form", () => {
    expect(problems(v7(`  - conda_source: mypkg[abc123] @ .\n    name: mypkg\n`, `        - conda_source: mypkg[abc123] @ .`))).toEqual([
      '10: environments.default.packages.linux-64[0]: "mypkg[abc123] @ ." is a source package pixi builds; conda-frontend installs built packages only: build it (pixi build), publish it to a channel, depend on it by version and run `pixi lock`',
    ]);
    const v6 = `version: 6\nenvironments:\n  default:\n    channels: []\n    packages:\n      linux-64:\n        - conda: ../mypkg\npackages:\n  - conda: ../mypkg\n    name: mypkg\n    version: "0.1"\n    build: h0_0\n    subdir: linux-64\n`;
    expect(problems(v6)).toEqual([
      '9: package "../mypkg": a source package pixi builds (no .conda or .tar.bz2 archive); conda-frontend installs built packages only: build it (pixi build), publish it to a channel, depend on it by version and run `pixi lock`',
    ]);
  });

  it("refuses packages on local paths", () => {
    expect(problems(v7(`  - conda: file:///srv/channel/linux-64/zlib-1.2.13-h1a77b30_0.conda\n    sha256: ${sha("a")}\n`, `        - conda: file:///srv/channel/linux-64/zlib-1.2.13-h1a77b30_0.conda`))[0]).toMatch(
      /^12: package "file:.*": a package on a local path; the build cannot read it: serve the channel over http\(s\)/,
    );
  });

  it("refuses sdists, editable and path PyPI packages", () => {
    const sdist = `${base}/wheels/greetsdist-1.0.tar.gz`;
    expect(problems(v7(`  - pypi: ${sdist}\n    name: greetsdist\n    version: "1.0"\n    sha256: ${sha("a")}\n`, `        - pypi: ${sdist}`))).toEqual([
      '12: PyPI package greetsdist: "greetsdist-1.0.tar.gz" is a source distribution, which pip would build at install time; conda-frontend installs wheels only: build a wheel, publish it to the index and run `pixi lock` (or depend on the conda package instead)',
    ]);
    expect(problems(v7(`  - pypi: ./\n    name: my-app\n`, `        - pypi: ./`))).toEqual([
      '12: PyPI package my-app: a local path ("./"); to install the project itself set [tool.conda-frontend.image.app] copy = ["."] and install = "pip", otherwise build a wheel, publish it to an index and run `pixi lock`',
    ]);
    const v6 = `version: 6\nenvironments:\n  default:\n    channels: []\n    packages:\n      linux-64:\n        - pypi: .\npackages:\n  - pypi: .\n    name: my-app\n    version: 0.1.0\n    editable: true\n`;
    expect(problems(v6)[0]).toMatch(/^9: PyPI package my-app: an editable install/);
  });

  it("checks hashes, names and what the URL says", () => {
    const bad = v7(
      `  - conda: ${zlib}\n    sha256: nothex\n  - conda: ${base}/linux-aarch64/xz-5.4.1-h0647726_0.conda\n    md5: ${"a".repeat(32)}\n  - conda: ${base}/linux-64/bzip2-1.0.8-h3772a1d_0.conda\n    name: bz\n    sha256: ${sha("a")}\n  - conda: ${base}/linux-64/..%2F..%2Fetc-1.0-h_0.conda\n    sha256: ${sha("a")}\n  - conda: ${base}/linux-64/libffi-3.4.4-h87b8474_0.conda\n`,
      [zlib, `${base}/linux-aarch64/xz-5.4.1-h0647726_0.conda`, `${base}/linux-64/bzip2-1.0.8-h3772a1d_0.conda`, `${base}/linux-64/..%2F..%2Fetc-1.0-h_0.conda`, `${base}/linux-64/libffi-3.4.4-h87b8474_0.conda`, `${base}/linux-64/missing-1.0-h_0.conda`].map((u) => `        - conda: ${u}`).join("\n"),
    );
    expect(problems(bad)).toEqual([
      `18: package "${zlib}".sha256: expected 64 hex digits, got "nothex"`,
      `19: package "${base}/linux-aarch64/xz-5.4.1-h0647726_0.conda": a linux-aarch64 package among the linux-64 packages`,
      `21: package "${base}/linux-64/bzip2-1.0.8-h3772a1d_0.conda": the URL's file "bzip2-1.0.8-h3772a1d_0.conda" is not bz 1.0.8, the package's name and version`,
      `24: package "${base}/linux-64/..%2F..%2Fetc-1.0-h_0.conda": file name "../../etc-1.0-h_0.conda" cannot name a file: it contains a path separator`,
      `26: package "${base}/linux-64/libffi-3.4.4-h87b8474_0.conda": no hash (sha256 or md5)`,
      `15: environments.default.packages.linux-64[5]: "${base}/linux-64/missing-1.0-h_0.conda" is not among the lock's packages`,
    ]);
  });

  it("checks that a wheel's file is the package it says", () => {
    const url = `${base}/wheels/greetwheel-1.0-py3-none-any.whl`;
    expect(problems(v7(`  - pypi: ${url}\n    name: other\n    version: "2.0"\n    sha256: ${sha("a")}\n`, `        - pypi: ${url}`))).toEqual([
      `12: PyPI package other: the wheel "greetwheel-1.0-py3-none-any.whl" is not other 2.0`,
    ]);
  });

  it("is not a pixi.lock", () => {
    expect(problems("")).toEqual(["-: the lock file is empty"]);
    expect(problems("version: 6\n")).toEqual(["1: no environments: table; is this a pixi.lock?"]);
    expect(problems("version: 6\nenvironments: [\n")[0]).toMatch(/^\d: invalid YAML/);
  });
});
