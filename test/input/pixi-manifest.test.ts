// parsePixiManifest(): pixi.toml and pyproject.toml into an EnvironmentSpec, one environment at a
// time, every value and problem at its TOML line.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseBuildOptions } from "../../src/gateway/options";
import { SpecError } from "../../src/input/errors";
import { planBuild } from "../../src/plan/plan";
import { type PixiManifestSpec, parsePixiManifest, pixiInputKind } from "../../src/input/pixi-manifest";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pixi/${name}`, import.meta.url), "utf8");

function problems(text: string, fileName = "pixi.toml", environment?: string): string[] {
  try {
    parsePixiManifest(fileName, text, { environment });
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return e.problems.map((p) => `${p.range?.start.line ?? "-"}: ${p.message}`);
  }
  throw new Error("expected a SpecError");
}

const lines = (xs: { value: string; range: { start: { line: number } } }[]) => xs.map((x) => `${x.range.start.line}: ${x.value}`);
const kv = (xs: PixiManifestSpec["activationEnv"]) => xs.map((x) => `${x.key.range.start.line}: ${x.key.value}=${x.value.value}`);

const ws = `[workspace]\nname = "t"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n`;

describe("pixiInputKind", () => {
  it("tells the inputs apart by base name", () => {
    expect(pixiInputKind("pixi.toml")).toBe("pixi.toml");
    expect(pixiInputKind("sub/pyproject.toml")).toBe("pyproject.toml");
    expect(pixiInputKind("pixi.lock")).toBe("pixi.lock");
    expect(pixiInputKind("environment.yml")).toBeUndefined();
  });
});

describe("the pixi.toml fixture", () => {
  const text = "# syntax=docker.io/example/conda-frontend\n" + fixture("pixi.toml");

  it("reads the default environment", () => {
    const spec = parsePixiManifest("pixi.toml", text);
    expect(spec.format).toBe("pixi.toml");
    expect(spec.environmentName).toBe("default");
    expect(spec.environmentNames).toEqual(["default", "extra"]);
    expect(spec.name?.value).toBe("greet-app");
    expect(lines(spec.channels)).toEqual(["6: http://127.0.0.1:8765"]);
    expect(lines(spec.dependencies)).toEqual(["10: python 3.12.*", "11: greet >=1.0", "12: pip"]);
    expect(lines(spec.pip)).toEqual(["15: greetwheel==1.0"]);
    expect(spec.pipAdded).toBe(false);
    expect(kv(spec.systemRequirements)).toEqual(["18: __linux=4.18", "19: __glibc=2.17"]);
    expect(kv(spec.activationEnv)).toEqual(["22: GREETING=hello"]);
    expect(kv(spec.image.env)).toEqual(["22: GREETING=hello"]);
    expect(kv(spec.image.virtualPackages)).toEqual(["18: __linux=4.18", "19: __glibc=2.17"]);
    expect(lines(spec.pixiPlatforms)).toEqual(["7: linux-64"]);
    expect(lines(spec.image.platforms)).toEqual(["7: linux/amd64"]);
    expect(spec.image.entrypoint?.value).toEqual(["greet"]);
    expect(spec.image.labels.map((l) => [l.key.value, l.value.value])).toEqual([["org.opencontainers.image.title", "greet-app"]]);
    expect(spec.warnings).toEqual([]);
  });

  it("reads the environment with the extra feature: its dependencies, and its variables first", () => {
    const spec = parsePixiManifest("pixi.toml", text, { environment: "extra" });
    expect(spec.environmentName).toBe("extra");
    expect(lines(spec.dependencies)).toEqual(["25: http://127.0.0.1:8765::greetpy 0.2.*", "10: python 3.12.*", "11: greet >=1.0", "12: pip"]);
    expect(kv(spec.activationEnv)).toEqual(["28: GREETING=hello from extra"]);
  });

  it("plans as environment.yml does (plan.ts unchanged)", () => {
    const plan = planBuild(parsePixiManifest("pixi.toml", text, { environment: "extra" }), parseBuildOptions({}, { OS: "linux", Architecture: "amd64" }));
    expect(plan.conda.specs.map((s) => s.value.name)).toEqual(["greetpy", "python", "greet", "pip"]);
    expect(plan.conda.specs[0]!.value.channel).toBe("http://127.0.0.1:8765");
    expect(plan.conda.pip.map((p) => p.value)).toEqual(["greetwheel==1.0"]);
    expect(plan.conda.virtualPackages).toEqual({ __linux: "4.18", __glibc: "2.17" });
    expect(plan.image.env).toEqual([["GREETING", "hello from extra"]]);
    expect(plan.image.entrypoint).toEqual(["greet"]);
    expect(plan.platforms).toEqual([{ OS: "linux", Architecture: "amd64" }]);
  });

  it("names the environments when asked for one that is not there", () => {
    expect(problems(text, "pixi.toml", "prod")).toEqual([`30: no environment "prod" in the manifest (the build arg PIXI_ENVIRONMENT picks one); its environments: default, extra`]);
    expect(problems(ws, "pixi.toml", "prod")).toEqual([`1: no environment "prod" in the manifest (the build arg PIXI_ENVIRONMENT picks one); its environments: default`]);
  });
});

describe("the pyproject.toml fixture", () => {
  const text = fixture("pyproject.toml");

  it("reads [tool.pixi.*] and [project]'s dependencies as PyPI dependencies of the default feature", () => {
    const spec = parsePixiManifest("pyproject.toml", text);
    expect(spec.format).toBe("pyproject.toml");
    expect(spec.name?.value).toBe("greet-app");
    expect(lines(spec.dependencies)).toEqual(["20: python 3.12.*", "21: greet >=1.0", "22: pip"]);
    expect(lines(spec.pip)).toEqual(["6: greetwheel==1.0"]);
    expect(lines(spec.channels)).toEqual(["16: http://127.0.0.1:8765"]);
    // osx-arm64 is not built.
    expect(lines(spec.pixiPlatforms)).toEqual(["17: linux-64", "17: osx-arm64"]);
    expect(lines(spec.image.platforms)).toEqual(["17: linux/amd64"]);
    expect(spec.solveGroup?.value).toBe("default");
    expect(spec.image.entrypoint?.value).toEqual(["greet"]);
  });

  it("merges an optional-dependencies group into the feature of the same name", () => {
    const spec = parsePixiManifest("pyproject.toml", text, { environment: "extra" });
    expect(spec.dependencies.map((d) => d.value)).toEqual(["http://127.0.0.1:8765::greetpy 0.2.*", "python 3.12.*", "greet >=1.0", "pip"]);
    expect(kv(spec.activationEnv)).toEqual(["35: GREETING=hello from extra"]);
  });

  it("needs [tool.pixi]", () => {
    expect(problems(`[project]\nname = "x"\n`, "pyproject.toml")).toEqual([
      "1: no [tool.pixi] table: this pyproject.toml does not configure pixi; add [tool.pixi.workspace] with channels and platforms (pixi init does)",
    ]);
  });
});

describe("pyproject.toml's [project]", () => {
  const head = `[project]\nname = "my-app"\nrequires-python = ">= 3.11"\ndependencies = ["requests>=2", "numpy"]\n`;
  const pixi = `[tool.pixi.workspace]\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n`;

  it("takes requires-python as the python dependency, and lets a conda dependency win over a PyPI one", () => {
    const spec = parsePixiManifest("pyproject.toml", head + pixi + `[tool.pixi.dependencies]\nnumpy = "*"\n`);
    expect(lines(spec.dependencies)).toEqual(["9: numpy", "3: python >=3.11", "4: pip"]);
    expect(spec.pipAdded).toBe(true);
    expect(lines(spec.pip)).toEqual(["4: requests>=2"]);
    expect(spec.name?.value).toBe("my-app");
  });

  it("expands self-references among extras and include-group among dependency groups", () => {
    const text = head + `[project.optional-dependencies]\ntest = ["pytest"]\nall = ["rich", "my_app[test]"]\n[dependency-groups]\nlint = ["ruff"]\ndev = [{include-group = "lint"}, "mypy"]\n` + pixi + `[tool.pixi.environments]\nall = ["all"]\ndev = { features = ["dev"], no-default-feature = true }\n`;
    expect(parsePixiManifest("pyproject.toml", text, { environment: "all" }).pip.map((p) => p.value)).toEqual(["rich", "pytest", "requests>=2", "numpy"]);
    expect(parsePixiManifest("pyproject.toml", text, { environment: "dev" }).pip.map((p) => p.value)).toEqual(["ruff", "mypy"]);
  });

  it("refuses path and git requirements", () => {
    expect(problems(`[project]\nname = "a"\ndependencies = ["lib @ file:///src/lib"]\n` + pixi, "pyproject.toml")).toEqual([
      `3: project.dependencies: "lib @ file:///src/lib": a path or git requirement is not supported; depend on a published wheel by version`,
    ]);
  });
});

describe("dependencies", () => {
  it("maps pixi's forms to match specs", () => {
    const spec = parsePixiManifest("pixi.toml", ws + `[dependencies]
a = "*"
b = "3.11.*"
c = ">=1.26, <2"
d = "==1.2.3"
e = "1.2.3 py_0"
f = { version = ">=1", channel = "bioconda" }
g = { build = "py*" }
h = { version = "1.0", build-number = ">=2", md5 = "${"a".repeat(32)}" }
i = { version = "*", subdir = "noarch" }
`);
    expect(spec.dependencies.map((d) => d.value)).toEqual([
      "a", "b 3.11.*", "c >=1.26,<2", "d ==1.2.3", "e 1.2.3 py_0", "bioconda::f >=1", "g * py*",
      `h 1.0[build_number=>=2, md5=${"a".repeat(32)}]`, "i[subdir=noarch]",
    ]);
  });

  it("resolves { workspace = true } from [workspace.dependencies]", () => {
    const spec = parsePixiManifest("pixi.toml", ws + `[workspace.dependencies]\nnumpy = "1.*"\n[dependencies]\nnumpy = { workspace = true }\n`);
    expect(lines(spec.dependencies)).toEqual(["8: numpy 1.*"]);
  });

  it("refuses source packages and bad values at their lines", () => {
    expect(problems(ws + `[dependencies]\nlocal = { path = "./pkg" }\nbad = "1.0 [md5=x]"\nworse = "a b c"\nx = { version = "1", colour = "red" }\n`)).toEqual([
      "6: dependencies.local: a source package is not supported; build it with pixi build or conda-build, publish it to a channel and depend on it by version",
      `7: dependencies.bad: invalid build string "[md5=x]"`,
      `8: dependencies.worse: expected a version and an optional build, got "a b c"`,
      `9: dependencies.x: unknown key "colour"; known keys: version, build, channel, build-number, subdir, md5, sha256, workspace, file-name, license`,
    ]);
  });
});

describe("pypi-dependencies", () => {
  it("maps versions, extras and wheel URLs to pip requirements", () => {
    const spec = parsePixiManifest("pixi.toml", ws + `[dependencies]\npython = "3.12.*"\n[pypi-dependencies]
greetwheel = "==1.0"
any = "*"
ranged = ">=1.2, <2"
rich = { version = "~=13.0", extras = ["jupyter"] }
wheel-only = { url = "http://127.0.0.1:8765/wheels/greetwheel-1.0-py3-none-any.whl" }
`);
    expect(spec.pip.map((p) => p.value)).toEqual([
      "greetwheel==1.0", "any", "ranged>=1.2,<2", "rich[jupyter]~=13.0", "wheel-only @ http://127.0.0.1:8765/wheels/greetwheel-1.0-py3-none-any.whl",
    ]);
    expect(spec.pipAdded).toBe(true);
    expect(lines(spec.dependencies)).toEqual(["6: python 3.12.*", "8: pip"]);
  });

  it("says what to do instead of path, editable, git and per-package index dependencies", () => {
    expect(problems(ws + `[pypi-dependencies]
me = { path = ".", editable = true }
lib = { git = "https://example.org/lib.git", rev = "abc" }
torch = { version = "*", index = "https://download.pytorch.org/whl/cpu" }
loose = "1.0"
`)).toEqual([
      `6: pypi-dependencies.me: a local path is not supported; to install the project itself, remove this entry and set [tool.conda-frontend.image.app] copy = ["."] and install = "pip"; otherwise build a wheel and list it by version or url`,
      "7: pypi-dependencies.lib: a git dependency is not supported; build a wheel, publish it to an index and depend on it by version",
      "8: pypi-dependencies.torch.index: a package index per dependency is not supported; pass the index with --build-arg PIP_INDEX_URL=... (or PIP_EXTRA_INDEX_URL)",
      `9: pypi-dependencies.loose: expected a version specifier such as "==1.0", ">=1.2,<2" or "*", got "1.0"`,
    ]);
  });

  it("takes the project itself at path . as the image's app install when that is set up", () => {
    const spec = parsePixiManifest("pixi.toml", ws + `[pypi-dependencies]\nme = { path = ".", editable = true }\n[tool.conda-frontend.image.app]\ncopy = ["."]\ninstall = "pip"\n`);
    expect(spec.pip).toEqual([]);
  });
});

describe("features and environments", () => {
  const text = ws + `[dependencies]
python = "3.12.*"
[activation.env]
MODE = "default"
SHARED = "from-default"
[feature.test.dependencies]
pytest = "*"
[feature.test.activation.env]
MODE = "test"
[feature.cuda.system-requirements]
cuda = "12"
[feature.lint]
channels = [{ channel = "extra", priority = 1 }, "conda-forge"]
dependencies = { ruff = "*" }
[environments]
test = ["test"]
gpu = { features = ["test", "cuda"], solve-group = "main" }
lint = { features = ["lint"], no-default-feature = true }
inline = { features = ["test"], dependencies = { git = "*" }, activation = { env = { MODE = "inline" } } }
`;
  it("merges the features' dependencies, first variable wins, highest virtual package wins", () => {
    const test = parsePixiManifest("pixi.toml", text, { environment: "test" });
    expect(test.dependencies.map((d) => d.value)).toEqual(["pytest", "python 3.12.*"]);
    expect(kv(test.image.env)).toEqual(["13: MODE=test", "9: SHARED=from-default"]);
    const gpu = parsePixiManifest("pixi.toml", text, { environment: "gpu" });
    expect(kv(gpu.systemRequirements)).toEqual(["15: __cuda=12"]);
    expect(gpu.solveGroup?.value).toBe("main");
  });

  it("leaves out the default feature with no-default-feature; orders channels by priority", () => {
    const lint = parsePixiManifest("pixi.toml", text, { environment: "lint" });
    expect(lint.dependencies.map((d) => d.value)).toEqual(["ruff"]);
    expect(lint.channels.map((c) => c.value)).toEqual(["extra", "conda-forge"]);
    expect(lint.image.env).toEqual([]);
  });

  it("takes an environment's inline content first", () => {
    const inline = parsePixiManifest("pixi.toml", text, { environment: "inline" });
    expect(inline.dependencies.map((d) => d.value)).toEqual(["git", "pytest", "python 3.12.*"]);
    expect(inline.activationEnv.find((e) => e.key.value === "MODE")?.value.value).toBe("inline");
  });

  it("reports a missing feature at its line", () => {
    expect(problems(ws + `[environments]\ntest = ["tset"]\n`, "pixi.toml", "test")).toEqual([`6: environments.test: no feature "tset"; the features: none`]);
  });
});

describe("platforms and targets", () => {
  it("narrows the platforms by a feature's, and maps linux ones to image platforms", () => {
    const spec = parsePixiManifest("pixi.toml", `[workspace]\nchannels = ["c"]\nplatforms = ["linux-64", "linux-aarch64", "osx-arm64", { name = "gpu", platform = "linux-64", cuda = "12.4" }]\n[feature.arm]\nplatforms = ["linux-aarch64"]\n[environments]\narm = ["arm"]\n`);
    expect(spec.image.platforms.map((p) => p.value)).toEqual(["linux/amd64", "linux/arm64", "linux/amd64"]);
    expect(kv(spec.systemRequirements)).toEqual(["3: __cuda=12.4"]);
    const arm = parsePixiManifest("pixi.toml", `[workspace]\nchannels = ["c"]\nplatforms = ["linux-64", "linux-aarch64"]\n[feature.arm]\nplatforms = ["linux-aarch64"]\n[environments]\narm = ["arm"]\n`, { environment: "arm" });
    expect(lines(arm.image.platforms)).toEqual(["3: linux/arm64"]);
  });

  it("keeps image.platforms when set", () => {
    const spec = parsePixiManifest("pixi.toml", ws + `[tool.conda-frontend.image]\nplatforms = ["linux/arm64"]\nvirtual-packages = { __glibc = "2.34" }\n[system-requirements]\nlibc = "2.28"\ncuda = "12"\n`);
    expect(spec.image.platforms.map((p) => p.value)).toEqual(["linux/arm64"]);
    expect(kv(spec.image.virtualPackages)).toEqual(["10: __cuda=12", "7: __glibc=2.34"]);
  });

  it("applies linux targets, ignores other systems', refuses one for part of the linux platforms", () => {
    const base = `[workspace]\nchannels = ["c"]\nplatforms = ["linux-64", "osx-arm64"]\n[target.linux-64.dependencies]\nlibgreet = "*"\n[target.unix.activation.env]\nX = "1"\n[target.osx-arm64.dependencies]\nclang = "*"\n[target.win.dependencies]\nmsvc = "*"\n`;
    const spec = parsePixiManifest("pixi.toml", base);
    expect(spec.dependencies.map((d) => d.value)).toEqual(["libgreet"]);
    expect(kv(spec.image.env)).toEqual(["7: X=1"]);
    expect(problems(base.replace(`"osx-arm64"`, `"linux-aarch64"`))).toEqual([
      `4: target.linux-64: content for linux-64 alone is not supported when the environment is built for linux-64 and linux-aarch64; move it to target.linux or the top-level tables, or build one platform (platforms = ["linux-64"])`,
    ]);
  });
});

describe("everything else", () => {
  it("accepts the older [project] table", () => {
    const spec = parsePixiManifest("pixi.toml", `[project]\nname = "old"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n[dependencies]\npython = "3.11.*"\n`);
    expect(spec.name?.value).toBe("old");
    expect(spec.dependencies.map((d) => d.value)).toEqual(["python 3.11.*"]);
  });

  it("reports unsupported tables, bad image settings and unknown keys at their lines", () => {
    expect(problems(ws + `[constraints]\nopenssl = ">=3"\n[pypi-options]\nindex-url = "https://example.org/simple"\n[tool.conda-frontend.image]\nuser = "a b"\n[tool.conda-frontend]\nbase = "x"\n[dependecies]\n`)).toEqual([
      `12: tool.conda-frontend: unknown key "base"; known keys: image`,
      `10: image.user: expected user, uid, user:group or uid:gid, got "a b"`,
      "5: constraints: constraints are not supported; pin the package in dependencies instead, or build from pixi.lock (-f pixi.lock)",
      "8: pypi-options.index-url: not supported here; pass it as a build argument: --build-arg PIP_INDEX_URL=...",
      `13: manifest: unknown key "dependecies" (did you mean "dependencies"?); known keys: dependencies, pypi-dependencies, system-requirements, activation, target, tasks, channel-priority, solve-strategy, constraints, host-dependencies, build-dependencies, pypi-options, dev`,
    ]);
  });

  it("warns about settings it does not apply", () => {
    const spec = parsePixiManifest("pixi.toml", ws + `channel-priority = "disabled"\n[activation]\nscripts = ["setup.sh"]\n`);
    expect(spec.warnings.map((w) => `${w.range?.start.line}: ${w.message}`)).toEqual([
      "5: workspace.channel-priority: not applied; the channels are used in strict priority",
      "7: activation.scripts: activation scripts do not run in the image (it has no shell); set the variables they set in activation.env",
    ]);
  });

  it("needs a workspace table, and reports TOML syntax errors at their line", () => {
    expect(problems(`[dependencies]\npython = "3.12"\n`)).toEqual([`1: no [workspace] table: it names the channels and platforms (e.g. channels = ["conda-forge"], platforms = ["linux-64"])`]);
    expect(problems(`[workspace]\nname = "x\n`)[0]).toMatch(/^2: invalid TOML: /);
    expect(() => parsePixiManifest("pixi.toml", `[workspace]\nname = "x\n`)).toThrow(/^pixi\.toml:2: invalid TOML: /);
  });

  it("reports a bad system requirement and activation variable", () => {
    expect(problems(ws + `[system-requirements]\nlibc = { family = "glibc" }\ncuda = "twelve"\nfoo = "1"\n[activation.env]\n"1X" = "y"\n`)).toEqual([
      "6: system-requirements.libc: needs version",
      `7: system-requirements.cuda: expected a version such as 2.28, got "twelve"`,
      `8: system-requirements: unknown key "foo"; known keys: linux, libc, cuda, macos, archspec`,
      `10: activation.env: invalid variable name "1X"`,
    ]);
  });
});
