// The frontend through a real `docker buildx build` on Docker Engine 26.1.5's BuildKit, on the
// classic store (no merge op) and on the containerd store (merge op), then `docker run`.
import { describe, expect, it } from "vitest";
import { allEngines, build, daemonUp, docker, engines, errorLine, executedSteps, frontendImage, header, imageId, inspectConfig, nodeImage, project, tag } from "./harness";

const mainJs = `
const fs = require("fs");
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(d + "/" + e.name) : [d + "/" + e.name]);
console.log(JSON.stringify({ greeting: process.env.GREETING, uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), files: walk("/app").sort(), args: process.argv.slice(2) }));
`;

function envYml(extra = "", syntax = true): string {
  return `${syntax ? header() : ""}name: web
channels: [conda-forge]
dependencies: []
image:
  base: ${nodeImage}
  entrypoint: ["/nodejs/bin/node"]
  cmd: ["/app/main.js", "--serve"]
  env:
    GREETING: hello
    MODE: prod
  labels:
    org.example.team: data
  ports: [8080, 53/udp]
  healthcheck:
    test: ["/nodejs/bin/node", "-e", "process.exit(0)"]
    interval: 30s
    retries: 3
  stop-signal: SIGINT
  app:
    copy: [main.js, lib]
${extra}`;
}

function webProject(extra = "", syntax = true): string {
  return project({
    "environment.yml": envYml(extra, syntax),
    "main.js": mainJs,
    "lib/util.js": "module.exports = 1;\n",
    "lib/secret.txt": "not for the image\n",
    "notes.md": "not copied: not listed in app.copy\n",
    ".dockerignore": "lib/secret.txt\n",
  });
}

interface AppReport {
  greeting: string;
  uid: number;
  gid: number;
  cwd: string;
  files: string[];
  args: string[];
}

describe.each(engines)("on the $name store", (engine) => {
  it("builds environment.yml with a # syntax header and runs as 65532 with the configured settings", () => {
    const dir = webProject();
    const t = tag("web");
    const res = build(engine, dir, ["-f", "environment.yml", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);

    const run = docker(engine, ["run", "--rm", t]);
    expect(run.code, run.output).toBe(0);
    const report = JSON.parse(run.stdout) as AppReport;
    expect(report).toMatchObject({ greeting: "hello", uid: 65532, gid: 65532, cwd: "/app", args: ["--serve"] });
    expect(report.files).toEqual(["/app/lib/util.js", "/app/main.js"]);

    const config = inspectConfig(engine, t) as Record<string, any>;
    expect(config.User).toBe("65532:65532");
    expect(config.WorkingDir).toBe("/app");
    expect(config.Entrypoint).toEqual(["/nodejs/bin/node"]);
    expect(config.Cmd).toEqual(["/app/main.js", "--serve"]);
    expect(config.Env).toEqual(expect.arrayContaining(["GREETING=hello", "MODE=prod"]));
    expect(config.Labels).toMatchObject({ "org.example.team": "data" });
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(["53/udp", "8080/tcp"]);
    expect(config.Healthcheck).toMatchObject({ Test: ["CMD", "/nodejs/bin/node", "-e", "process.exit(0)"], Interval: 30e9, Retries: 3 });
    expect(config.StopSignal).toBe("SIGINT");

    // Layers are stacked with a merge op where the daemon has one; where not, the app layer is
    // written straight onto the base (no stacking step at all).
    if (engine.name === "containerd") {
      expect(res.output).toContain("stack layers");
      expect(res.output).not.toContain("no merge op");
    } else {
      expect(res.output).not.toContain("stack layers");
      expect(res.output).toContain("[app] copy ");
    }
  });

  it("rebuilds an unchanged file from cache to the identical image, and a label change re-does only the export", () => {
    const dir = webProject();
    const t = tag("cache");
    const first = build(engine, dir, ["-f", "environment.yml", "-t", t, "--load", "."]);
    expect(first.code, first.output).toBe(0);
    const id1 = imageId(engine, t);

    const second = build(engine, dir, ["-f", "environment.yml", "-t", t, "--load", "."]);
    expect(second.code, second.output).toBe(0);
    expect(imageId(engine, t)).toBe(id1);
    const ran = executedSteps(second.output).filter((s) => s.startsWith("[app]") || s.startsWith("[image"));
    expect(ran, second.output).toEqual([]);
    expect(second.output).toMatch(/\[app\] copy main\.js lib to \/app\n#\d+ CACHED/);

    const edited = envYml().replace("org.example.team: data", "org.example.team: platform");
    const third = build(engine, dir, ["-f", "-", "-t", t, "--load", "."], edited);
    expect(third.code, third.output).toBe(0);
    expect(executedSteps(third.output).filter((s) => s.startsWith("[app]") || s.startsWith("[image"))).toEqual([]);
    expect(imageId(engine, t)).not.toBe(id1);
    expect((inspectConfig(engine, t) as any).Labels["org.example.team"]).toBe("platform");
  });

  it("honours label options, --no-cache and SOURCE_DATE_EPOCH", () => {
    const dir = webProject();
    const t = tag("opts");
    const warm = build(engine, dir, ["-f", "environment.yml", "-t", t, "--load", "."]);
    expect(warm.code, warm.output).toBe(0);
    const res = build(engine, dir, ["-f", "environment.yml", "--no-cache", "--label", "org.example.extra=yes", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(executedSteps(res.output).some((s) => s.startsWith("[app]")), res.output).toBe(true);
    expect((inspectConfig(engine, t) as any).Labels).toMatchObject({ "org.example.extra": "yes", "org.example.team": "data" });
    const created = docker(engine, ["image", "inspect", "--format", "{{.Created}}", t]).stdout.trim();
    expect(created).toMatch(/^2023-11-14T22:13:20/);
  });
});

describe("how users point Docker at the frontend (classic store)", () => {
  const engine = engines[0]!;

  it("works with --build-arg BUILDKIT_SYNTAX and no header", () => {
    const dir = webProject("", false);
    const t = tag("syntax-arg");
    const res = build(engine, dir, ["-f", "environment.yml", "--build-arg", `BUILDKIT_SYNTAX=${frontendImage}`, "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect((JSON.parse(docker(engine, ["run", "--rm", t]).stdout) as AppReport).greeting).toBe("hello");
  });

  it("works with the file piped in with -f -", () => {
    const dir = webProject();
    const t = tag("stdin");
    const res = build(engine, dir, ["-f", "-", "-t", t, "--load", "."], envYml().replace("GREETING: hello", "GREETING: piped"));
    expect(res.code, res.output).toBe(0);
    expect((JSON.parse(docker(engine, ["run", "--rm", t]).stdout) as AppReport).greeting).toBe("piped");
  });

});

describe("bad input: a clear error naming file and line, and the daemon stays up", () => {
  // `first`: the error line buildx prints, after its own "failed to solve" prefix (errorLine).
  const cases: { name: string; file: string; first: RegExp; line?: number }[] = [
    { name: "malformed YAML", file: `${header()}name: x\ndependencies: [a, b\nimage: {}\n`, first: /^environment\.yml:\d+: invalid YAML/ },
    { name: "image.user: [1, 2]", file: `${header()}name: x\nimage:\n  user: [1, 2]\n`, first: /^environment\.yml:4: image\.user: expected a string, got \[1, 2\]$/, line: 4 },
    { name: "unknown key image.entrypont", file: `${header()}name: x\nimage:\n  entrypont: ["/x"]\n`, first: /^environment\.yml:4: image: unknown key "entrypont" \(did you mean "entrypoint"\?\); known keys: base, /, line: 4 },
    { name: "a base image that does not exist", file: `${header()}name: x\nimage:\n  base: localhost:5000/no/such-image:1\n`, first: /^environment\.yml:4: image\.base \(image section\) "localhost:5000\/no\/such-image:1" for linux\/amd64 cannot be resolved/, line: 4 },
  ];

  describe.each(allEngines)("on $label", (engine) => {
    it.each(cases)("$name: the error line starts with the file and line, which buildx marks", (c) => {
      const dir = project({ "environment.yml": c.file });
      const res = build(engine, dir, ["-f", "environment.yml", "."]);
      expect(res.code).not.toBe(0);
      expect(errorLine(res.output), res.output).toMatch(c.first);
      if (c.line) expect(res.output).toMatch(new RegExp(`\\n\\s*${c.line} \\| >>>`));
      expect(daemonUp(engine)).toBe(true);
    });
  });

  it("a missing input file", () => {
    // Docker's own Dockerfile frontend reads the -f file before it forwards the build to ours,
    // so through buildx a missing file is reported by Docker; the daemon must survive it.
    const engine = engines[0]!;
    const dir = project({ "other.txt": "x" });
    const res = build(engine, dir, ["-f", "environment.yml", "--build-arg", `BUILDKIT_SYNTAX=${frontendImage}`, "."]);
    expect(res.code).not.toBe(0);
    expect(res.output).toMatch(/environment\.yml: no such file or directory/);
    expect(daemonUp(engine)).toBe(true);
  });
});
