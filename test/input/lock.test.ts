// Lock files: our conda-lock.yml writer and reader, conda-lock's own files, and @EXPLICIT lists.
import { describe, expect, it } from "vitest";
import { condaLockWritten } from "../fixtures/conda-lock-written";
import { parse } from "yaml";
import { SpecError } from "../../src/input/errors";
import { parseBuildOptions } from "../../src/gateway/options";
import { parseEnvironment } from "../../src/input/environment";
import { type Lock, type LockedPackage, readCondaLock, readExplicitLock, readLock, sortedPackages, splitArchiveName, writeCondaLock } from "../../src/input/lock";
import { planBuild } from "../../src/plan/plan";
import { lockContentHash } from "../../src/plan/lock-request";

const md5 = (c: string) => c.repeat(32);
const sha = (c: string) => c.repeat(64);
const cf = "https://conda.anaconda.org/conda-forge";

function conda(platform: string, filename: string, extra: Partial<LockedPackage> = {}): LockedPackage {
  const parts = splitArchiveName(filename)!;
  const subdir = filename.includes("noarch") ? "noarch" : platform;
  return {
    ...parts,
    platform,
    manager: "conda",
    url: `${cf}/${subdir}/${filename}`,
    filename,
    md5: md5("a"),
    sha256: sha("b"),
    dependencies: {},
    category: "main",
    optional: false,
    ...extra,
  };
}

function pip(platform: string, name: string, version: string, filename: string): LockedPackage {
  return {
    name,
    version,
    build: "",
    platform,
    manager: "pip",
    url: `https://files.pythonhosted.org/packages/ab/cd/${filename}`,
    filename,
    sha256: sha("c"),
    dependencies: { "charset-normalizer": "<4,>=2", idna: "<4,>=2.5" },
    category: "main",
    optional: false,
  };
}

/** Packages already in the writer's order: platform, manager, name. */
function multiPlatformLock(): Lock {
  return {
    version: 1,
    platforms: ["linux-64", "linux-aarch64"],
    channels: [`${cf}`, "https://conda.anaconda.org/bioconda"],
    contentHash: { "linux-64": sha("1"), "linux-aarch64": sha("2") },
    sources: ["environment.yml"],
    packages: [
      conda("linux-64", "_libgcc_mutex-0.1-conda_forge.tar.bz2", { md5: "d7c89558ba9fa0495403155b64376d81", sha256: undefined }),
      conda("linux-64", "ca-certificates-2024.2.2-hbcca054_0.conda", { dependencies: {} }),
      conda("linux-64", "libffi-3.4.2-h7f98852_5.tar.bz2", { dependencies: { "libgcc-ng": ">=9.4.0" } }),
      conda("linux-64", "python-3.12.1-hab00c5b_1_cpython.conda", {
        dependencies: { "__glibc": ">=2.17,<3.0.a0", libffi: ">=3.4,<4.0a0", "python_abi": "3.12.* *_cp312", tzdata: "*" },
        md5: undefined,
      }),
      pip("linux-64", "requests", "2.32.3", "requests-2.32.3-py3-none-any.whl"),
      conda("linux-aarch64", "python-3.12.1-h43d1f9e_1_cpython.conda", { dependencies: { libffi: ">=3.4,<4.0a0" } }),
      conda("linux-aarch64", "tzdata-2024a-h0c530f3_0.conda", { url: `${cf}/noarch/tzdata-2024a-h0c530f3_0.conda` }),
      pip("linux-aarch64", "requests", "2.32.3", "requests-2.32.3-py3-none-any.whl"),
    ],
    ours: true,
  };
}

function pipLessLock(): Lock {
  return {
    version: 1,
    platforms: ["linux-64"],
    channels: [cf],
    contentHash: { "linux-64": sha("3") },
    sources: ["env/environment.yml"],
    packages: [
      conda("linux-64", "libzlib-1.3.1-h4ab18f5_1.conda", { md5: md5("e"), sha256: sha("f") }),
      conda("linux-64", "zlib-1.3.1-h4ab18f5_1.conda", { dependencies: { libzlib: "1.3.1 h4ab18f5_1" }, category: "dev", optional: true }),
    ],
    ours: true,
  };
}

function lockError(text: string, read: (name: string, text: string) => Lock = readCondaLock): SpecError {
  try {
    read("conda-lock.yml", text);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error("expected a SpecError");
}

const problemLines = (e: SpecError) => e.problems.map((p) => `${p.range?.start.line ?? "-"}: ${p.message}`);

describe("splitArchiveName", () => {
  it.each([
    ["python-3.12.1-h1234_0_cpython.conda", { name: "python", version: "3.12.1", build: "h1234_0_cpython" }],
    ["ca-certificates-2024.2.2-hbcca054_0.conda", { name: "ca-certificates", version: "2024.2.2", build: "hbcca054_0" }],
    ["_libgcc_mutex-0.1-conda_forge.tar.bz2", { name: "_libgcc_mutex", version: "0.1", build: "conda_forge" }],
    ["r-base-64-4.3.2-h1_0.tar.bz2", { name: "r-base-64", version: "4.3.2", build: "h1_0" }],
  ])("splits %s", (file, parts) => {
    expect(splitArchiveName(file)).toEqual(parts);
  });

  it.each([
    "requests-2.32.3-py3-none-any.whl", "python-3.12.1-h0_0.zip", "python-3.12.1.conda", "python.tar.bz2", "python-3.12.1-h0_0.conda.part", "",
    // Found by test/fuzz: an empty name, version or build was accepted.
    "python-3.12-.conda", "python--h0.conda", "-3.12-h0.tar.bz2",
  ])("returns undefined for %j", (file) => {
    expect(splitArchiveName(file)).toBeUndefined();
  });
});

describe("writeCondaLock and readCondaLock", () => {
  it("round-trips a lock with several platforms, pip packages and both hashes", () => {
    const lock = multiPlatformLock();
    const back = readCondaLock("conda-lock.yml", writeCondaLock(lock));
    expect(back).toEqual(lock);
    expect(back.ours).toBe(true);
    expect(back.packages.find((p) => p.name === "python" && p.platform === "linux-64")!.dependencies).toEqual({
      "__glibc": ">=2.17,<3.0.a0",
      libffi: ">=3.4,<4.0a0",
      "python_abi": "3.12.* *_cp312",
      tzdata: "*",
    });
    // Versions that look like numbers stay strings.
    expect(back.packages[0]!.version).toBe("0.1");
  });

  it("reads back exactly the lock the solve step also hands over as JSON (packages in file order)", () => {
    const lock = multiPlatformLock();
    const asSolved: Lock = { ...lock, packages: sortedPackages([...lock.packages].reverse()) };
    expect(readCondaLock("conda-lock.yml", writeCondaLock(asSolved))).toEqual(JSON.parse(JSON.stringify(asSolved)));
  });

  it("round-trips a lock without pip packages", () => {
    const lock = pipLessLock();
    expect(readCondaLock("conda-lock.yml", writeCondaLock(lock))).toEqual(lock);
  });

  it("is deterministic and independent of the package and dependency order", () => {
    const lock = multiPlatformLock();
    const shuffled: Lock = {
      ...lock,
      contentHash: { "linux-aarch64": lock.contentHash["linux-aarch64"]!, "linux-64": lock.contentHash["linux-64"]! },
      packages: [...lock.packages].reverse().map((p) => ({ ...p, dependencies: Object.fromEntries(Object.entries(p.dependencies).reverse()) })),
    };
    const text = writeCondaLock(lock);
    expect(writeCondaLock(lock)).toBe(text);
    expect(writeCondaLock(shuffled)).toBe(text);
    const order = (parse(text) as { package: { platform: string; manager: string; name: string }[] }).package.map((p) => `${p.platform}/${p.manager}/${p.name}`);
    expect(order).toEqual([
      "linux-64/conda/_libgcc_mutex",
      "linux-64/conda/ca-certificates",
      "linux-64/conda/libffi",
      "linux-64/conda/python",
      "linux-64/pip/requests",
      "linux-aarch64/conda/python",
      "linux-aarch64/conda/tzdata",
      "linux-aarch64/pip/requests",
    ]);
  });

  it("writes conda-lock's layout", () => {
    const text = writeCondaLock(multiPlatformLock());
    expect(text.startsWith("# ")).toBe(true);
    const doc = parse(text) as Record<string, any>;
    expect(Object.keys(doc)).toEqual(["version", "metadata", "package"]);
    expect(doc.version).toBe(1);
    expect(doc.metadata.content_hash).toEqual({ "linux-64": sha("1"), "linux-aarch64": sha("2") });
    expect(doc.metadata.channels).toEqual([
      { url: cf, used_env_vars: [] },
      { url: "https://conda.anaconda.org/bioconda", used_env_vars: [] },
    ]);
    expect(doc.metadata.platforms).toEqual(["linux-64", "linux-aarch64"]);
    expect(doc.metadata.sources).toEqual(["environment.yml"]);
    for (const p of doc.package) {
      expect(Object.keys(p)).toEqual(["name", "version", "manager", "platform", "dependencies", "url", "hash", "category", "optional"]);
    }
    expect(doc.package[0]).toEqual({
      name: "_libgcc_mutex",
      version: "0.1",
      manager: "conda",
      platform: "linux-64",
      dependencies: {},
      url: `${cf}/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2`,
      hash: { md5: "d7c89558ba9fa0495403155b64376d81" },
      category: "main",
      optional: false,
    });
    expect(doc.package[2].hash).toEqual({ md5: md5("a"), sha256: sha("b") });
    expect(doc.package[3].hash).toEqual({ sha256: sha("b") });
  });

  it("reads a conda-lock.yml written by conda-lock as foreign, with builds from the URLs", () => {
    const text = condaLockWritten;
    const lock = readCondaLock("conda-lock.yml", text);
    expect(lock.ours).toBe(false);
    expect(lock.platforms).toEqual(["linux-64"]);
    expect(lock.channels).toEqual(["conda-forge"]);
    expect(lock.sources).toEqual(["environment.yml"]);
    expect(lock.contentHash).toEqual({ "linux-64": "5bd2d5fe0c3cdc6b8b6f3ee9c3a2b23a1f32c1c0d04b0cf09c2c0d4e5b6a7f81" });
    expect(lock.packages.map((p) => [p.name, p.version, p.build, p.manager, p.filename])).toEqual([
      ["_libgcc_mutex", "0.1", "conda_forge", "conda", "_libgcc_mutex-0.1-conda_forge.tar.bz2"],
      ["libzlib", "1.2.13", "hd590300_5", "conda", "libzlib-1.2.13-hd590300_5.conda"],
      ["python", "3.12.1", "hab00c5b_1_cpython", "conda", "python-3.12.1-hab00c5b_1_cpython.conda"],
      ["requests", "2.32.3", "", "pip", "requests-2.32.3-py3-none-any.whl"],
    ]);
    expect(lock.packages[0]!.md5).toBe("d7c89558ba9fa0495403155b64376d81");
    expect(lock.packages[2]!.dependencies).toEqual({ bzip2: ">=1.0.8,<2.0a0", libffi: ">=3.4,<4.0a0", tzdata: "" });
    expect(lock.packages[3]!.sha256).toBe("70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6");
    expect(lock.packages[3]!.md5).toBeUndefined();
  });

  it("reads a number-looking version as written", () => {
    const text = `version: 1\npackage:\n- name: tzdata\n  version: 2024.10\n  manager: conda\n  platform: linux-64\n  url: ${cf}/noarch/tzdata-2024.10-h0_0.conda\n  hash:\n    md5: ${md5("d")}\n`;
    const lock = readCondaLock("conda-lock.yml", text);
    expect(lock.packages[0]!.version).toBe("2024.10");
    // Platforms missing from the metadata are taken from the packages.
    expect(lock.platforms).toEqual(["linux-64"]);
    expect(lock.packages[0]!.category).toBe("main");
    expect(lock.packages[0]!.optional).toBe(false);
  });
});

describe("readCondaLock errors", () => {
  const pkg = (over: Record<string, string> = {}, hash = `  hash:\n    md5: ${md5("a")}\n`) => {
    const f = { name: "python", version: "3.12.1", manager: "conda", platform: "linux-64", url: `${cf}/linux-64/python-3.12.1-h0_0.conda`, ...over };
    return `- name: ${f.name}\n  version: ${f.version}\n  manager: ${f.manager}\n  platform: ${f.platform}\n  url: ${f.url}\n${hash}`;
  };

  it("reports corrupted YAML at its line", () => {
    const e = lockError("version: 1\npackage:\n- name: [python\n  version: 1\n");
    expect(e.problems.length).toBeGreaterThan(0);
    expect(e.problems[0]!.message).toMatch(/^invalid YAML/);
    expect(e.problems[0]!.range!.start.line).toBeGreaterThanOrEqual(3);
  });

  it("reports an empty file", () => {
    expect(lockError("").message).toContain("the lock file is empty");
  });

  // Found by test/fuzz: the version was read from the whole document resolved to JS, which threw a
  // ReferenceError for an alias without its anchor or an exponential alias tree, anywhere in the file.
  it("reads a lock whose unread keys hold aliases, without resolving them", () => {
    const bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    expect(readCondaLock("conda-lock.yml", `version: 1\npackage: []\n${bomb}`).packages).toEqual([]);
    expect(readCondaLock("conda-lock.yml", "version: 1\npackage: []\nx: *missing\n").packages).toEqual([]);
  });

  it("names an alias as the version", () => {
    expect(problemLines(lockError("v: &v 1\nversion: *v\npackage: []\n"))).toEqual(["2: unsupported conda-lock version the alias *v (aliases are not supported here; write the value out): expected 1 (the unified conda-lock.yml format)"]);
  });

  it("refuses version 2 at the version line", () => {
    expect(problemLines(lockError(`# comment\nversion: 2\npackage:\n${pkg()}`))).toEqual(['2: unsupported conda-lock version 2: expected 1 (the unified conda-lock.yml format)']);
  });

  it("refuses a package without a hash, at its name", () => {
    const text = `version: 1\npackage:\n${pkg()}${pkg({ name: "numpy", version: "1.26.4", url: `${cf}/linux-64/numpy-1.26.4-h0_0.conda` }, "")}`;
    expect(problemLines(lockError(text))).toEqual(["10: package[1]: no hash (md5 or sha256) for numpy"]);
  });

  it("refuses a malformed sha256, naming the package's index", () => {
    const text = `version: 1\npackage:\n${pkg()}${pkg({}, "  hash:\n    sha256: abc123\n")}`;
    const e = lockError(text);
    expect(problemLines(e)).toEqual(['16: package[1].hash.sha256: expected 64 hex digits, got "abc123"']);
    expect(e.message).toBe('conda-lock.yml:16: package[1].hash.sha256: expected 64 hex digits, got "abc123"');
  });

  it("refuses a malformed md5", () => {
    expect(problemLines(lockError(`version: 1\npackage:\n${pkg({}, "  hash:\n    md5: ABC\n")}`))).toEqual(['9: package[0].hash.md5: expected 32 hex digits, got "ABC"']);
  });

  it("refuses a conda url that is not a conda archive", () => {
    const e = lockError(`version: 1\npackage:\n${pkg({ url: `${cf}/linux-64/python-3.12.1.zip` })}`);
    expect(problemLines(e)).toEqual([`7: package[0].url: not a conda archive URL (name-version-build.conda or .tar.bz2): "${cf}/linux-64/python-3.12.1.zip"`]);
  });

  it("refuses a url that is not a URL", () => {
    expect(problemLines(lockError(`version: 1\npackage:\n${pkg({ url: "python-3.12.1-h0_0.conda" })}`))).toEqual(['7: package[0].url: not a URL: "python-3.12.1-h0_0.conda"']);
  });

  it("refuses an unknown manager", () => {
    expect(lockError(`version: 1\npackage:\n${pkg({ manager: "npm" })}`).problems[0]!.message).toContain("package[0].manager: expected one of conda, pip");
  });

  it("refuses a file without a package list", () => {
    const e = lockError("version: 1\nmetadata:\n  platforms: [linux-64]\n");
    expect(e.problems.map((p) => p.message)).toEqual(["no package: list; is this a conda-lock.yml?"]);
    expect(e.problems[0]!.range!.start.line).toBe(1);
  });

  it("reports every problem at once", () => {
    const text = `version: 2\npackage:\n${pkg({}, "")}${pkg({}, "  hash:\n    sha256: zz\n")}`;
    expect(lockError(text).problems.length).toBe(3);
  });
});

describe("readExplicitLock", () => {
  const url1 = `${cf}/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2`;
  const url2 = `${cf}/linux-64/python-3.12.1-hab00c5b_1_cpython.conda`;
  const explicit = `# This file may be used to create an environment using:
# $ conda create --name <env> --file <this file>
# platform: linux-aarch64
@EXPLICIT
${url1}#d7c89558ba9fa0495403155b64376d81
${url2}#sha256:${sha("0")}
`;

  it("reads the platform line, md5 and sha256 entries", () => {
    const lock = readExplicitLock("explicit.txt", explicit);
    expect(lock).toMatchObject({ version: 1, platforms: ["linux-aarch64"], channels: [], contentHash: {}, sources: ["explicit.txt"], ours: false });
    expect(lock.packages).toEqual([
      { name: "_libgcc_mutex", version: "0.1", build: "conda_forge", platform: "linux-aarch64", manager: "conda", url: url1, filename: "_libgcc_mutex-0.1-conda_forge.tar.bz2", md5: "d7c89558ba9fa0495403155b64376d81", sha256: undefined, dependencies: {}, category: "main", optional: false },
      { name: "python", version: "3.12.1", build: "hab00c5b_1_cpython", platform: "linux-aarch64", manager: "conda", url: url2, filename: "python-3.12.1-hab00c5b_1_cpython.conda", md5: undefined, sha256: sha("0"), dependencies: {}, category: "main", optional: false },
    ]);
  });

  it("prefers the file's platform line over the fallback and uses the fallback without one", () => {
    expect(readExplicitLock("x", explicit, "linux-64").platforms).toEqual(["linux-aarch64"]);
    const noPlatform = `@EXPLICIT\n${url1}#${md5("a")}\n`;
    const lock = readExplicitLock("x", noPlatform, "linux-64");
    expect(lock.platforms).toEqual(["linux-64"]);
    expect(lock.packages[0]!.platform).toBe("linux-64");
  });

  it("needs @EXPLICIT before the URLs, with the line", () => {
    const e = lockError(`# platform: linux-64\n${url1}#${md5("a")}\n@EXPLICIT\n`, readExplicitLock);
    expect(problemLines(e)).toHaveLength(1);
    expect(problemLines(e)[0]).toMatch(/^2: expected @EXPLICIT before the package URLs, got "https:\/\/conda\.anaconda\.org\/conda-forge\/linux-64\/_libgcc_mutex/);
  });

  it("refuses a file without @EXPLICIT", () => {
    expect(lockError("# platform: linux-64\n# nothing\n", readExplicitLock).problems.map((p) => p.message)).toEqual(["not an explicit lock: no @EXPLICIT line"]);
  });

  it("needs a hash on every line", () => {
    const e = lockError(`# platform: linux-64\n@EXPLICIT\n${url1}#${md5("a")}\n${url2}\n`, readExplicitLock);
    expect(problemLines(e)).toEqual(['4: python: expected #<md5> or #sha256:<hex> after the URL, got "nothing"']);
  });

  it("refuses a malformed hash", () => {
    const e = lockError(`# platform: linux-64\n@EXPLICIT\n\n${url2}#sha256:xyz\n${url1}#abc\n`, readExplicitLock);
    expect(problemLines(e)).toEqual(['4: python: expected #<md5> or #sha256:<hex> after the URL, got "sha256:xyz"', '5: _libgcc_mutex: expected #<md5> or #sha256:<hex> after the URL, got "abc"']);
  });

  it("refuses a URL that is not a conda archive", () => {
    const e = lockError(`# platform: linux-64\n@EXPLICIT\n${cf}/linux-64/readme.txt#${md5("a")}\n`, readExplicitLock);
    expect(problemLines(e)).toEqual(['3: not a conda archive (name-version-build.conda or .tar.bz2): "readme.txt"']);
  });

  // Found by test/fuzz: an archive name with an empty build was read as a package with build "".
  it("refuses an archive name with an empty field", () => {
    const e = lockError(`# platform: linux-64\n@EXPLICIT\n${cf}/linux-64/python-3.12-.conda#${md5("a")}\n`, readExplicitLock);
    expect(problemLines(e)).toEqual(['3: not a conda archive (name-version-build.conda or .tar.bz2): "python-3.12-.conda"']);
  });

  it("needs a platform when there is no fallback", () => {
    const e = lockError(`@EXPLICIT\n${url1}#${md5("a")}\n`, readExplicitLock);
    expect(e.problems.map((p) => p.message)).toEqual(["the explicit lock does not say its platform (a `# platform: linux-64` line)"]);
  });
});

describe("readLock", () => {
  it("reads an explicit list when there is an @EXPLICIT line", () => {
    const lock = readLock("spec.txt", `@EXPLICIT\n${cf}/linux-64/zlib-1.3.1-h0_0.conda#${md5("a")}\n`, "linux-64");
    expect(lock.platforms).toEqual(["linux-64"]);
    expect(lock.packages.map((p) => p.name)).toEqual(["zlib"]);
    expect(lock.sources).toEqual(["spec.txt"]);
  });

  it("reads a conda-lock.yml otherwise", () => {
    const lock = readLock("conda-lock.yml", writeCondaLock(pipLessLock()), "linux-aarch64");
    expect(lock).toEqual(pipLessLock());
  });

  it("reports conda-lock.yml problems for a file that is neither", () => {
    expect(() => readLock("conda-lock.yml", "just: text\n")).toThrow(/no package: list/);
  });
});

describe("hashes YAML reads as numbers", () => {
  it("takes an unquoted all-digit md5 as the string it is", () => {
    const text = "version: 1\nmetadata:\n  platforms: [linux-64]\npackage:\n  - name: a\n    version: '1'\n    manager: conda\n    platform: linux-64\n    dependencies: {}\n    url: http://x/c/linux-64/a-1-h0_0.conda\n    hash:\n      md5: 12345678901234567890123456789012\n    category: main\n    optional: false\n";
    expect(readCondaLock("conda-lock.yml", text).packages[0]!.md5).toBe("12345678901234567890123456789012");
  });
});

describe("lock names that would become paths", () => {
  const lockWith = (name: string, url: string) => `version: 1
metadata:
  platforms: [linux-64]
  channels: [{url: "https://conda.anaconda.org/conda-forge", used_env_vars: []}]
  content_hash: {linux-64: abc}
  sources: [environment.yml]
package:
  - name: ${JSON.stringify(name)}
    version: "1.0"
    manager: conda
    platform: linux-64
    dependencies: {}
    url: ${JSON.stringify(url)}
    hash: {sha256: ${"a".repeat(64)}}
    category: main
    optional: false
`;

  it("refuses a conda-lock.yml whose URL decodes to a file name with a slash, at the url's line", () => {
    expect(() => readCondaLock("conda-lock.yml", lockWith("x", "https://c.example/linux-64/..%2F..%2Fx-1.0-h_0.conda"))).toThrow(/conda-lock\.yml:13:.*file name "\.\.\/\.\.\/x-1\.0-h_0\.conda" cannot name a file: it contains a path separator/);
  });

  it("refuses a name with a slash, and a URL whose file is another package than name and version say", () => {
    expect(() => readCondaLock("conda-lock.yml", lockWith("../x", "https://c.example/linux-64/x-1.0-h_0.conda"))).toThrow(/conda-lock\.yml:8:.*name "\.\.\/x" cannot name a file/);
    expect(() => readCondaLock("conda-lock.yml", lockWith("zlib", "https://c.example/linux-64/openssl-1.0-h_0.conda"))).toThrow(/the URL's file "openssl-1\.0-h_0\.conda" is not zlib 1\.0/);
  });

  it("refuses an @EXPLICIT line whose file name decodes to a path, naming the line", () => {
    const text = "# platform: linux-64\n@EXPLICIT\nhttps://c.example/linux-64/a%2F..%2F..%2Fb-1.0-h_0.conda#" + "0".repeat(32) + "\n";
    expect(() => readExplicitLock("explicit.txt", text)).toThrow(/explicit\.txt:3:.*cannot name a file: it contains a path separator/);
  });
});

// A conda-lock.yml as the frontend wrote it (--target lock), committed beside its environment.yml.
// A build checks each platform's content_hash against lockContentHash of the environment
// (frontend/conda.ts) and refuses a lock that differs as stale. These literal hashes were written
// by the frontend at commit 016e5fd (and recomputed with Python, see test/conda/solve-request.test.ts):
// if a refactor changes what the environment hashes to, every committed lock would go stale.
describe("a committed conda-lock.yml stays fresh across refactors (golden content hashes)", () => {
  const committed = (hashes: Record<string, string>) => `# Generated by conda-frontend (docker buildx build --target lock). Commit it next to
# environment.yml; builds then install exactly these packages and run no solver.
version: 1
metadata:
  content_hash:
${Object.entries(hashes).map(([platform, hash]) => `    ${platform}: ${hash}\n`).join("")}  channels:
    - url: conda-forge
      used_env_vars: []
  platforms:
${Object.keys(hashes).map((platform) => `    - ${platform}\n`).join("")}  sources:
    - environment.yml
  custom_metadata:
    conda-frontend: "1"
package:
  - name: python
    version: 3.12.1
    manager: conda
    platform: linux-64
    dependencies: {}
    url: https://conda.anaconda.org/conda-forge/linux-64/python-3.12.1-h0_0.conda
    hash:
      md5: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      sha256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    category: main
    optional: false
`;
  const environment = "name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.12\n  - numpy>=1.26,<2\n";
  const planned = (text: string, ...options: string[]) => {
    const env: Record<string, string> = {};
    options.forEach((o, i) => (env[`BUILDKIT_FRONTEND_OPT_${i}`] = o));
    return planBuild(parseEnvironment("environment.yml", text), parseBuildOptions(env, { OS: "linux", Architecture: "amd64" })).conda;
  };

  it.each([
    ["one channel and two specs, linux-64 and linux-aarch64", environment, [], { "linux-64": "107cbd0081fd7a11202c4bdf2a3299da3449abe1932a3b639b24c6670708da5e", "linux-aarch64": "83b7d598d3d728edabef8dac242fdc04f388449c966ad3f70cf8d47499d954cf" }],
    ["with pip and a pip: list", environment + "  - pip\n  - pip:\n      - requests==2.32.3\n      - rich\n", [], { "linux-64": "2a0e8c43688252187a96827b8808832bdb3508dd230ad70aee4bada0885ea8f0" }],
    [
      "with image.virtual-packages and CONDA_OVERRIDE_GLIBC",
      environment + 'image:\n  virtual-packages:\n    __cuda: "12.2"\n',
      ["build-arg:CONDA_OVERRIDE_GLIBC=2.35"],
      { "linux-64": "e29078979db02f09ddab76a95e4ef406ac11629deafdd8ac467fe790d9f558b8" },
    ],
  ])("%s", (_, text, options, hashes) => {
    const lock = readCondaLock("conda-lock.yml", committed(hashes));
    expect(lock.ours).toBe(true);
    expect(lock.contentHash).toEqual(hashes);
    const conda = planned(text, ...options);
    for (const platform of Object.keys(hashes)) expect(lockContentHash(conda, platform), platform).toBe(lock.contentHash[platform]);
  });
});
