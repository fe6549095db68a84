// The image: section's finer points: healthcheck, prune, app, paths, users, signals.
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "../../src/input/environment";
import { parseDuration } from "../../src/input/image-section";
import { problemLines } from "./helpers";

const image = (body: string) => parseEnvironment("environment.yml", `name: x\nimage:\n${body}`).image;

describe("durations", () => {
  it("parses Go-style durations to nanoseconds", () => {
    expect(parseDuration("30s")).toBe(30e9);
    expect(parseDuration("1m30s")).toBe(90e9);
    expect(parseDuration("500ms")).toBe(500e6);
    expect(parseDuration("1h2m3s")).toBe(3723e9);
    expect(parseDuration("1.5s")).toBe(1.5e9);
    expect(parseDuration("10us")).toBe(10e3);
  });

  it("rejects what is not a duration", () => {
    for (const bad of ["", "30", "s", "30 s", "-5s", "1d", "30s "]) expect(parseDuration(bad), bad).toBeUndefined();
  });
});

describe("healthcheck", () => {
  it("reads test, durations and retries", () => {
    const hc = image("  healthcheck:\n    test: [curl, -f, http://localhost]\n    interval: 1m30s\n    timeout: 30s\n    start-period: 5s\n    retries: 3\n").healthcheck!;
    expect(hc).toMatchObject({ test: ["CMD", "curl", "-f", "http://localhost"], intervalNs: 90e9, timeoutNs: 30e9, startPeriodNs: 5e9, retries: 3 });
    expect(hc.range.start.line).toBe(4);
  });

  it("keeps an explicit CMD or NONE test as it is", () => {
    expect(image("  healthcheck:\n    test: [CMD, true]\n").healthcheck!.test).toEqual(["CMD", "true"]);
    expect(image("  healthcheck:\n    test: [NONE]\n").healthcheck!.test).toEqual(["NONE"]);
  });

  it("rejects an invalid duration at its line", () => {
    expect(problemLines("image:\n  healthcheck:\n    test: [true]\n    interval: 30x\n")).toEqual([
      '4: image.healthcheck.interval: expected a duration such as 30s or 1m30s, got "30x"',
    ]);
  });

  it("requires a test and known keys", () => {
    expect(problemLines("image:\n  healthcheck:\n    interval: 30s\n")).toEqual(["3: image.healthcheck: needs test: [program, args...]"]);
    expect(problemLines("image:\n  healthcheck:\n    test: [true]\n    retries: -1\n")).toEqual(["4: image.healthcheck.retries: expected a whole number >= 0, got -1"]);
    expect(problemLines("image:\n  healthcheck:\n    test: [true]\n    intervall: 5s\n")[0]).toMatch(/^4: image\.healthcheck: unknown key "intervall" \(did you mean "interval"\?\)/);
  });
});

describe("prune", () => {
  it("takes a preset name", () => {
    const p = image("  prune: aggressive\n").prune!;
    expect(p.preset.value).toBe("aggressive");
    expect(p.remove).toEqual([]);
    expect(p.keep).toEqual([]);
  });

  it("takes a mapping, defaulting the preset to safe", () => {
    const p = image("  prune:\n    remove: ['*.a', share/doc]\n    keep: [lib/libx.a]\n").prune!;
    expect(p.preset.value).toBe("safe");
    expect(p.remove.map((r) => r.value)).toEqual(["*.a", "share/doc"]);
    expect(p.keep.map((k) => [k.value, k.range.start.line])).toEqual([["lib/libx.a", 5]]);
    expect(image("  prune:\n    preset: none\n").prune!.preset.value).toBe("none");
  });

  it("rejects an unknown preset", () => {
    expect(problemLines("image:\n  prune: extreme\n")).toEqual(['2: image.prune: expected one of none, safe, aggressive, got "extreme"']);
    expect(problemLines("image:\n  prune:\n    preset: max\n")).toEqual(['3: image.prune.preset: expected one of none, safe, aggressive, got "max"']);
  });
});

describe("app", () => {
  it("cleans copy paths", () => {
    expect(image("  app:\n    copy: [./src/, lib//, '*.py', .]\n").app.copy.map((c) => c.value)).toEqual(["src", "lib", "*.py", "."]);
  });

  it("rejects paths that leave the context or are absolute", () => {
    expect(problemLines("image:\n  app:\n    copy: [../x, /etc, a/../../b, ok]\n")).toEqual([
      '3: image.app.copy: paths are relative to the build context and stay inside it, got "../x"',
      '3: image.app.copy: paths are relative to the build context and stay inside it, got "/etc"',
      '3: image.app.copy: paths are relative to the build context and stay inside it, got "a/../../b"',
    ]);
  });

  it("reads install", () => {
    expect(image("  app:\n    install: pip\n").app.install?.value).toBe("pip");
    expect(problemLines("image:\n  app:\n    install: poetry\n")).toEqual(['3: image.app.install: expected one of pip, none, got "poetry"']);
  });
});

describe("other image keys", () => {
  it("checks absolute paths for prefix and workdir", () => {
    expect(image("  prefix: /\n").prefix?.value).toBe("/");
    expect(image("  workdir: /srv//\n").workdir?.value).toBe("/srv");
    expect(problemLines("image:\n  prefix: /opt/../etc\n")).toEqual(['2: image.prefix: expected an absolute path such as /opt/conda, got "/opt/../etc"']);
  });

  it("checks users", () => {
    expect(image("  user: 1000\n").user?.value).toBe("1000");
    expect(image("  user: app:staff\n").user?.value).toBe("app:staff");
    expect(problemLines("image:\n  user: 'a b'\n")).toEqual(['2: image.user: expected user, uid, user:group or uid:gid, got "a b"']);
  });

  it("checks env names and signals", () => {
    expect(problemLines("image:\n  env:\n    1BAD: x\n")).toEqual(['3: image.env: invalid variable name "1BAD"']);
    expect(image("  stop-signal: 15\n").stopSignal?.value).toBe("15");
    expect(problemLines("image:\n  stop-signal: sigterm\n")).toEqual(['2: image.stop-signal: invalid signal "sigterm"; expected e.g. SIGTERM or 15']);
  });

  it("reads the not-yet-used keys", () => {
    const img = image("  lockfile: conda-lock.yml\n  virtual-packages:\n    __glibc: '2.36'\n  post-link: skip\n  compile-pyc: false\n");
    expect(img.lockfile?.value).toBe("conda-lock.yml");
    expect(img.virtualPackages.map((v) => [v.key.value, v.value.value])).toEqual([["__glibc", "2.36"]]);
    expect(img.postLink?.value).toBe("skip");
    expect(img.compilePyc?.value).toBe(false);
    expect(problemLines("image:\n  virtual-packages:\n    glibc: '2'\n")).toEqual(['3: image.virtual-packages: virtual package names start with "__", got "glibc"']);
    expect(problemLines("image:\n  compile-pyc: yes\n")).toEqual(['2: image.compile-pyc: expected true or false, got "yes"']);
  });

  it("rejects an image section that is not a mapping", () => {
    expect(problemLines("image: python\n")).toEqual(['1: image: expected a mapping, got "python"']);
  });
});

describe("image section: problems found alongside others", () => {
  it("reports an empty entrypoint even when another key is also wrong", () => {
    const lines = problemLines("name: x\nimage:\n  user: [1]\n  entrypoint: []\n");
    expect(lines).toEqual([expect.stringMatching(/^3: image\.user: expected a string/), "4: image.entrypoint: must not be empty"]);
  });

  it("takes ./ in app.copy as the whole context", () => {
    expect(image('  app:\n    copy: ["./"]\n').app.copy.map((c) => c.value)).toEqual(["."]);
  });
});

describe("image values that parse but mean nothing", () => {
  it("refuses a cmd or entrypoint without a program, at its line", () => {
    expect(problemLines('image:\n  cmd: ""\n')).toEqual(['2: image.cmd: must name a program, got ""']);
    expect(problemLines('image:\n  entrypoint: [" ", "-x"]\n')).toEqual(['2: image.entrypoint: the first item must name a program, got " "']);
  });

  it("refuses a healthcheck duration too long to hold in nanoseconds", () => {
    expect(parseDuration("3000000h")).toBeUndefined();
    expect(parseDuration(`${"9".repeat(400)}h`)).toBeUndefined();
    expect(parseDuration("2400h")).toBe(2400 * 3600e9);
  });
});

describe("app.copy entries from named contexts", () => {
  const copy = (body: string) => image(`  app:\n    copy:\n${body}`).app.copy;

  it("reads {from, src, dest}, with paths relative to the context and the workdir", () => {
    const [a, b, c] = copy("      - {from: assets, src: /static/, dest: ./public}\n      - {from: assets, src: /}\n      - {src: ./conf}\n");
    expect(a).toMatchObject({ value: "static", from: "assets", dest: "public" });
    expect(a!.range.start.line).toBe(5);
    expect(b).toMatchObject({ value: ".", from: "assets" });
    expect(b!.dest).toBeUndefined();
    expect(c).toEqual({ value: "conf", range: c!.range });
  });

  it("keeps the string form beside entries with keys", () => {
    expect(copy("      - web\n      - {from: assets, src: img}\n").map((c) => c.value)).toEqual(["web", "img"]);
  });

  it("refuses paths leaving the context or the workdir, bad names and unknown keys, at the line", () => {
    expect(
      problemLines("image:\n  app:\n    copy:\n      - {from: assets, src: ../x}\n      - {from: ../a, src: x}\n      - {from: a, src: x, dest: /etc}\n      - {from: a, src: x, dest: a/../../b}\n      - {from: a}\n      - {from: a, src: x, to: y}\n      - {src: '*.py', dest: py}\n"),
    ).toEqual([
      '4: image.app.copy.src: paths stay inside their context, got "../x"',
      '5: image.app.copy.from: expected a build context name (letters, digits, "_", ".", "-"), got "../a"',
      '6: image.app.copy.dest: a path relative to the workdir, inside it, got "/etc"',
      '7: image.app.copy.dest: a path relative to the workdir, inside it, got "a/../../b"',
      '8: image.app.copy: an entry with keys needs src: (a path in the context "a")',
      expect.stringMatching(/^9: image\.app\.copy: unknown key "to"/),
      '10: image.app.copy.dest: not with a wildcard src ("*.py"); matches keep their paths',
    ]);
  });
});
