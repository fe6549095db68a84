// parseEnvironment(): conda's fields and the image section, with the line of every value and
// every problem.
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "../../src/input/environment";
import { SpecError } from "../../src/input/errors";
import { problemLines, specError } from "./helpers";

const full = `name: web
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.12
  - conda-forge::numpy>=1.26
  - pip
  - pip:
      - requests==2.32.0
      - -e ./lib
variables:
  MODE: prod
  WORKERS: 4
prefix: /home/me/miniconda3/envs/web
image:
  base: python:3.12-slim
  prefix: /opt/env/
  entrypoint: ["python", "-m", "app"]
  cmd: [--port, 8080]
  workdir: /srv/app
  user: app:app
  env:
    PYTHONUNBUFFERED: 1
    LANG: C.UTF-8
  ports: [8080, 53/udp]
  labels:
    org.opencontainers.image.title: web
  stop-signal: SIGINT
  app:
    copy: [./src/, main.py, .]
  platforms: [linux/amd64, linux/arm64]
`;

describe("parseEnvironment: a valid file", () => {
  const spec = parseEnvironment("environment.yml", full);

  it("reads name and channels with their lines", () => {
    expect(spec.name).toEqual({ value: "web", range: { start: { line: 1, character: 6 }, end: { line: 1, character: 9 } } });
    expect(spec.channels.map((c) => [c.value, c.range.start.line])).toEqual([
      ["conda-forge", 3],
      ["nodefaults", 4],
    ]);
  });

  it("reads dependencies and the pip sub-list separately", () => {
    expect(spec.dependencies.map((d) => [d.value, d.range.start.line])).toEqual([
      ["python=3.12", 6],
      ["conda-forge::numpy>=1.26", 7],
      ["pip", 8],
    ]);
    expect(spec.pip.map((d) => [d.value, d.range.start.line])).toEqual([
      ["requests==2.32.0", 10],
      ["-e ./lib", 11],
    ]);
  });

  it("reads variables in order, numbers as written", () => {
    expect(spec.variables.map((v) => [v.key.value, v.value.value, v.key.range.start.line])).toEqual([
      ["MODE", "prod", 13],
      ["WORKERS", "4", 14],
    ]);
  });

  it("reads the image section", () => {
    const img = spec.image;
    expect(img.base?.value).toBe("python:3.12-slim");
    expect(img.base?.range.start.line).toBe(17);
    expect(img.prefix?.value).toBe("/opt/env");
    expect(img.entrypoint?.value).toEqual(["python", "-m", "app"]);
    expect(img.entrypoint?.range.start.line).toBe(19);
    expect(img.cmd?.value).toEqual(["--port", "8080"]);
    expect(img.workdir?.value).toBe("/srv/app");
    expect(img.user?.value).toBe("app:app");
    expect(img.env.map((e) => [e.key.value, e.value.value])).toEqual([
      ["PYTHONUNBUFFERED", "1"],
      ["LANG", "C.UTF-8"],
    ]);
    expect(img.ports.map((p) => p.value)).toEqual(["8080", "53/udp"]);
    expect(img.labels.map((l) => [l.key.value, l.value.value])).toEqual([["org.opencontainers.image.title", "web"]]);
    expect(img.stopSignal?.value).toBe("SIGINT");
    expect(img.app.copy.map((c) => c.value)).toEqual(["src", "main.py", "."]);
    expect(img.app.copy[0]!.range.start.line).toBe(31);
    expect(img.platforms.map((p) => p.value)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(img.healthcheck).toBeUndefined();
  });

  it("keeps the file", () => {
    expect(spec.file.name).toBe("environment.yml");
    expect(spec.file.text).toBe(full);
  });

  it("gives an empty image section when there is none", () => {
    const s = parseEnvironment("environment.yml", "name: x\ndependencies: [python]\n");
    expect(s.image).toMatchObject({ env: [], ports: [], labels: [], app: { copy: [] }, platforms: [] });
    expect(s.image.base).toBeUndefined();
    expect(s.channels).toEqual([]);
  });

  it("accepts empty channels and dependencies lists", () => {
    const s = parseEnvironment("environment.yml", "name: x\nchannels: []\ndependencies: []\n");
    expect(s.channels).toEqual([]);
    expect(s.dependencies).toEqual([]);
  });
});

describe("parseEnvironment: errors", () => {
  it("formats problems as <file>:<line>: <message>", () => {
    const e = specError("name: x\nimage:\n  user: [1, 2]\n", "env.yml");
    expect(e).toBeInstanceOf(SpecError);
    expect(e.message).toBe("env.yml:3: image.user: expected a string, got [1, 2]");
    expect(e.ranges).toEqual([{ start: { line: 3, character: 8 }, end: { line: 3, character: 14 } }]);
    expect(e.file).toMatchObject({ name: "env.yml" });
  });

  it("reports malformed YAML at its line", () => {
    const lines = problemLines("name: x\nchannels: [conda-forge\ndependencies: []\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^3: invalid YAML: /);
  });

  it("suggests the closest key for a misspelt one", () => {
    const [line] = problemLines("name: x\nimage:\n  entrypont: [python]\n");
    expect(line).toMatch(/^3: image: unknown key "entrypont" \(did you mean "entrypoint"\?\); known keys: base, prefix, entrypoint/);
  });

  it("does not suggest anything for a key far from every known one", () => {
    const [line] = problemLines("name: x\nflavour: vanilla\n");
    expect(line).toBe("2: environment: unknown key \"flavour\"; known keys: name, channels, dependencies, variables, prefix, image");
  });

  it("rejects an entrypoint string that would need a shell", () => {
    const [line] = problemLines("name: x\nimage:\n  entrypoint: python -m app\n");
    expect(line).toMatch(/^3: image\.entrypoint: write the command as a list/);
    expect(line).toContain('(got "python -m app")');
  });

  it("accepts a one-word entrypoint string as a one-item list", () => {
    expect(parseEnvironment("e.yml", "image:\n  entrypoint: python\n").image.entrypoint?.value).toEqual(["python"]);
  });

  it("rejects an empty entrypoint list", () => {
    expect(problemLines("image:\n  entrypoint: []\n")).toEqual(["2: image.entrypoint: must not be empty"]);
  });

  it("rejects invalid ports, naming each", () => {
    expect(problemLines("image:\n  ports: [8080, 70000, http, 53/udp]\n")).toEqual([
      '2: image.ports: invalid port "70000"; expected e.g. 8080 or 53/udp',
      '2: image.ports: invalid port "http"; expected e.g. 8080 or 53/udp',
    ]);
  });

  it("reports every problem together, in file order", () => {
    const text = "name: x\nfoo: 1\nimage:\n  user: [1]\n  ports: [abc]\n  workdir: app\n";
    expect(problemLines(text)).toEqual([
      '2: environment: unknown key "foo"; known keys: name, channels, dependencies, variables, prefix, image',
      "4: image.user: expected a string, got [1]",
      '5: image.ports: invalid port "abc"; expected e.g. 8080 or 53/udp',
      '6: image.workdir: expected an absolute path such as /opt/conda, got "app"',
    ]);
    expect(specError(text).message.split("\n")).toHaveLength(4);
  });

  it("rejects duplicate keys", () => {
    const [line] = problemLines("name: a\nchannels: []\nname: b\n");
    expect(line).toMatch(/^3: invalid YAML: .*unique/);
  });

  it("rejects an empty file without a line", () => {
    for (const text of ["", "# only a comment\n", "\n\n"]) {
      const e = specError(text);
      expect(e.message).toBe("environment.yml: the file is empty: expected name:, channels: and dependencies:");
      expect(e.ranges).toEqual([]);
    }
  });

  it("rejects a top level that is not a mapping", () => {
    expect(problemLines("- python\n- numpy\n")).toEqual(['1: expected a mapping at the top (name:, channels:, dependencies:), got ["python", "numpy"]']);
  });

  it("checks the dependency list", () => {
    expect(problemLines("dependencies:\n  - python=3.12\n  - 3\n  - foo: [a]\n  - pip: [a]\n  - pip: [b]\n  - ''\n")).toEqual([
      '3: dependencies[1]: expected a package spec such as "python=3.12", got 3',
      '4: dependencies[2]: only a "pip:" list may appear among the dependencies, got "foo"',
      '6: dependencies: "pip:" appears twice; merge the two lists',
      "7: dependencies[5]: empty package spec",
    ]);
  });

  it("rejects a non-string name and a non-list channels", () => {
    expect(problemLines("name: [a]\nchannels: conda-forge\n")).toEqual([
      '1: name: expected a string, got ["a"]',
      '2: channels: expected a list, got "conda-forge"',
    ]);
  });

  // Found by test/fuzz: the message resolved the value, and an alias whose anchor is missing threw
  // a ReferenceError from the yaml library instead of a SpecError.
  it("names an alias where a value was expected, without resolving it", () => {
    expect(problemLines("*!")).toEqual(["1: expected a mapping at the top (name:, channels:, dependencies:), got the alias *! (aliases are not supported here; write the value out)"]);
    expect(problemLines("x: &a [conda-forge]\nchannels: *a\n")[1]).toBe("2: channels: expected a list, got the alias *a (aliases are not supported here; write the value out)");
  });

  // Found by test/fuzz: "Excessive alias count" (a ReferenceError) escaped from the message.
  it("refuses a billion-laughs document at the top without expanding it", () => {
    const bomb = "- &a [x, x, x, x, x, x, x, x, x, x]\n- &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n- [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    expect(problemLines(bomb)).toEqual(['1: expected a mapping at the top (name:, channels:, dependencies:), got [["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"], ["*a", "*a", "*a", "*a",...']);
  });
});
