// Hostile packages (test/fixtures/channel/hostile.ts, "Hostile packages" in its README) through a
// real BuildKit, each installed from an @EXPLICIT lock (no solve): a package that lies about its
// name, one with setuid and world-writable modes, one with a 2.25 GiB file, one that writes
// through its own symlink, a truncated archive, and a lock with a wrong md5. Each must fail with
// an error that names the package and what is wrong with it (or, for the modes and the huge file,
// succeed safely), and the daemon must keep answering.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildAsync, imageEntries } from "./async-docker";
import { baseImage, build, channelUrl, daemonUp, docker, type Engine, engines, header, project, tag } from "./harness";

interface ChannelRecord {
  subdir: string;
  filename: string;
  name: string;
  version: string;
  depends: string[];
  md5: string;
  sha256: string;
}

let records: ChannelRecord[] = [];

beforeAll(async () => {
  for (const subdir of ["linux-64", "noarch"]) {
    const res = await fetch(`${channelUrl}/${subdir}/repodata.json`);
    if (!res.ok) throw new Error(`${channelUrl}/${subdir}/repodata.json: HTTP ${res.status} (is the fixture channel up? bash scripts/e2e/setup.sh)`);
    const repodata = (await res.json()) as Record<string, Record<string, Omit<ChannelRecord, "subdir" | "filename">>>;
    for (const key of ["packages.conda", "packages"]) {
      for (const [filename, r] of Object.entries(repodata[key] ?? {})) records.push({ subdir, filename, name: r.name, version: r.version, depends: r.depends ?? [], md5: r.md5, sha256: r.sha256 });
    }
  }
});

const versionKey = (v: string) => v.split(".").map((x) => x.padStart(8, "0")).join(".");

/** The newest record of a package (.conda before .tar.bz2), or that version. */
function pick(name: string, version?: string): ChannelRecord {
  const hits = records
    .filter((r) => r.name === name && (!version || r.version === version))
    .sort((a, b) => versionKey(b.version).localeCompare(versionKey(a.version)) || Number(b.filename.endsWith(".conda")) - Number(a.filename.endsWith(".conda")));
  if (!hits.length) throw new Error(`the fixture channel has no ${name}${version ? ` ${version}` : ""}: rebuild it (bash scripts/e2e/setup.sh)`);
  return hits[0]!;
}

/** The packages and everything they depend on (by name: the fixture channel's pins all hold). */
function closure(names: string[]): ChannelRecord[] {
  const out = new Map<string, ChannelRecord>();
  const visit = (name: string) => {
    if (name.startsWith("__") || out.has(name)) return;
    const r = pick(name);
    out.set(name, r);
    for (const dep of r.depends) visit(dep.split(" ")[0]!);
  };
  names.forEach(visit);
  return [...out.values()];
}

const urlOf = (r: ChannelRecord) => `${channelUrl}/${r.subdir}/${r.filename}`;

/** An @EXPLICIT lock of these records: `url#sha256:<hex>`, or what `hashOf` says after the #. */
function explicitLock(recs: ChannelRecord[], hashOf: (r: ChannelRecord) => string = (r) => `sha256:${r.sha256}`): string {
  return `# platform: linux-64\n@EXPLICIT\n${recs.map((r) => `${urlOf(r)}#${hashOf(r)}`).join("\n")}\n`;
}

/** A project installing exactly this lock (environment.yml names the requested packages). */
function lockedProject(names: string[], lock: string): string {
  const yml = `${header()}name: hostile
channels:
  - ${channelUrl}
dependencies:
${names.map((n) => `  - ${n}`).join("\n")}
image:
  base: ${baseImage}
  lockfile: explicit.txt
`;
  return project({ "environment.yml": yml, "explicit.txt": lock });
}

/** A run-unique SOURCE_DATE_EPOCH: the install steps run (and print) even when BuildKit's cache holds an earlier run. */
const epoch = ["--build-arg", `SOURCE_DATE_EPOCH=${Math.floor(Date.now() / 1000)}`];

function hostileBuild(engine: Engine, names: string[], lock: string, extra: string[] = []) {
  const dir = lockedProject(names, lock);
  return { dir, res: build(engine, dir, ["--network=host", "-f", "environment.yml", ...epoch, ...extra, "."]) };
}

/** The first line of the build log that matches every pattern. */
function lineWith(output: string, ...patterns: RegExp[]): string | undefined {
  return output.split("\n").find((line) => patterns.every((p) => p.test(line)));
}

/** The end of a build log, for assertion messages. */
const tail = (output: string, lines = 40) => output.trimEnd().split("\n").slice(-lines).join("\n");

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Every path under `dir` whose name is `name` (the exported result of a build that should not exist). */
function findNamed(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (entry === name) out.push(p);
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const GiB = 2 ** 30;

/**
 * The most memory any BuildKit step held while sampling: anonymous memory plus shmem (a tmpfs such
 * as the install step's /tmp is memory too), without the page cache that writing a big file
 * charges to a cgroup. Each step runs in a cgroup of its own under docker/buildkit (cgroup v1:
 * memory/docker/buildkit/<id>, total_rss + total_shmem; v2: docker/buildkit/<id>, anon + shmem).
 * Steps of other builds count too, so this is an upper bound of the step watched.
 */
function sampleStepMemory(everyMs = 100): { stop: () => { peak: number; samples: number; cgroupsSeen: number } } | undefined {
  const layouts = [
    { dir: "/sys/fs/cgroup/memory/docker/buildkit", fields: ["total_rss", "total_shmem"] },
    { dir: "/sys/fs/cgroup/docker/buildkit", fields: ["anon", "shmem"] },
  ].filter((l) => existsSync(l.dir));
  if (!layouts.length) return undefined;
  let peak = 0;
  let samples = 0;
  const seen = new Set<string>();
  const sample = () => {
    samples++;
    for (const { dir, fields } of layouts) {
      let ids: string[] = [];
      try {
        ids = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        continue;
      }
      for (const id of ids) {
        try {
          const stat = readFileSync(join(dir, id, "memory.stat"), "utf8");
          const values = fields.map((f) => new RegExp(`^${f} (\\d+)$`, "m").exec(stat)?.[1]);
          if (values[0] === undefined) continue;
          seen.add(id);
          peak = Math.max(peak, values.reduce((n, v) => n + Number(v ?? 0), 0));
        } catch {
          // the step ended between the listing and the read
        }
      }
    }
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { peak, samples, cgroupsSeen: seen.size };
    },
  };
}

/**
 * Removes the build-cache records of at least `minBytes` made since `since` (what a hugepkg build
 * leaves: its install step's output and, on the classic store, the copy of it; 2.25 GiB each, a
 * run-unique SOURCE_DATE_EPOCH making new ones every run). Nothing else in the fixture world is
 * that big. Children first: a record another one builds on frees nothing until that one is gone.
 */
function pruneHugeCacheRecords(engine: Engine, since: number, minBytes = 2 * GiB): number {
  const units: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  const du = docker(engine, ["buildx", "du", "--verbose"]);
  const big = du.stdout
    .split(/\n\s*\n/)
    .map((block) => {
      const id = /^ID:\s+(\S+)/m.exec(block)?.[1];
      const size = /^Size:\s+([\d.]+)\s*([kKMGT]?B)/m.exec(block);
      const created = /^Created at:\s+(\S+) (\d{2}:\d{2}:\d{2})\S* ([+-]\d{2})(\d{2})/m.exec(block); // 2026-12-04 15:41:44.458 +0000 UTC
      return { id, bytes: size ? Number(size[1]) * (units[size[2]!] ?? 1) : 0, created: created ? Date.parse(`${created[1]}T${created[2]}${created[3]}:${created[4]}`) : 0 };
    })
    .filter((r) => r.id && r.bytes >= minBytes && r.created >= since - 2000)
    .sort((a, b) => b.created - a.created);
  for (const r of big) docker(engine, ["buildx", "prune", "--force", "--all", "--filter", `id=${r.id}`]);
  return big.length;
}

describe("hugepkg: a 2.25 GiB file, Docker 26.1.5 (classic store)", () => {
  const engine = engines[0]!;
  const zeros = "/opt/conda/share/hugepkg/zeros";

  it("installs share/hugepkg/zeros of exactly 2.25 GiB, every step holding under 1 GiB of memory", async () => {
    const hugepkg = pick("hugepkg");
    const dir = lockedProject(["python", "hugepkg"], explicitLock(closure(["python", "hugepkg"])));
    const t = tag("hugepkg");
    const sampler = sampleStepMemory();
    const started = Date.now();
    const res = await buildAsync(engine, dir, ["--network=host", "-f", "environment.yml", ...epoch, "-t", t, "--load", "."]);
    const seconds = (Date.now() - started) / 1000;
    const memory = sampler?.stop();
    try {
      console.log(`hugepkg: build ${seconds.toFixed(1)} s; largest step memory (anon + shmem) ${memory ? `${(memory.peak / 2 ** 20).toFixed(0)} MiB (${memory.samples} samples, ${memory.cgroupsSeen} step cgroups)` : "not measured (no docker/buildkit cgroups here)"}`);
      expect(res.code, tail(res.output)).toBe(0);
      expect(res.output).toContain(`[install] hugepkg 1.0-${hugepkg.filename.split("-")[2]!.replace(/\.conda$/, "")}`);
      const py = docker(engine, [
        "run", "--rm", "--entrypoint", "/opt/conda/bin/python", t, "-c",
        // The size, and zeros at its start, its middle and its very end (no need to read 2.25 GiB).
        `import os; f = open('${zeros}', 'rb'); ok = all(not any((f.seek(at), f.read(1 << 16))[1]) for at in (0, ${GiB}, ${2.25 * GiB - (1 << 16)})); print(os.path.getsize('${zeros}'), ok, open('/opt/conda/share/hugepkg/README').read().split(':')[0])`,
      ]);
      expect(py.code, py.output).toBe(0);
      expect(py.stdout.trim()).toBe(`${2.25 * GiB} True hugepkg`);
      if (memory) {
        expect(memory.cgroupsSeen, "no BuildKit step was seen running").toBeGreaterThan(0);
        expect(memory.peak, `a step held ${(memory.peak / 2 ** 20).toFixed(0)} MiB`).toBeLessThan(GiB);
      }
      expect(daemonUp(engine)).toBe(true);
    } finally {
      docker(engine, ["rmi", "-f", t]);
      pruneHugeCacheRecords(engine, started);
    }
  }, 300_000);
});

describe.each(engines)("hostile packages on the $name store", (engine) => {
  it("liar: index.json naming the package ../../../../x fails the build, naming the file and both names, and no x-1.0-h_0.json is written", () => {
    const liar = pick("liar");
    const { dir, res } = hostileBuild(engine, ["liar"], explicitLock([liar]), ["--output", "type=local,dest=out"]);
    // Nothing exported (the build fails), so no record named after index.json's name anywhere.
    expect(findNamed(join(dir, "out"), "x-1.0-h_0.json")).toEqual([]);
    expect(existsSync("/x-1.0-h_0.json")).toBe(false);
    expect(res.code, tail(res.output)).not.toBe(0);
    const line = lineWith(res.output, new RegExp(`${esc(liar.filename)}|${esc(urlOf(liar))}`), /index\.json/, /\.\.\/\.\.\/\.\.\/\.\.\/x/, /\bliar\b(?!-1\.0)/);
    expect(line, tail(res.output)).toBeDefined();
    expect(daemonUp(engine)).toBe(true);
  });

  it("setuidpkg: setuid, setgid, sticky and group/other-write bits are dropped (755/644), and the log names the files changed", async () => {
    const pkg = pick("setuidpkg");
    const t = tag("setuid");
    const { res } = hostileBuild(engine, ["setuidpkg"], explicitLock([pkg]), ["-t", t, "--load"]);
    expect(res.code, tail(res.output)).toBe(0);
    // Soft: the modes below are checked (and reported) even when the log says nothing.
    expect.soft(res.output, tail(res.output)).toContain("bin/suidprog");
    const files = await imageEntries(engine, t, "/opt/conda");
    const modeOf = (rel: string) => files.get(`/opt/conda/${rel}`)?.mode.toString(8);
    const typeOf = (rel: string) => files.get(`/opt/conda/${rel}`)?.type;
    expect({
      "bin/suidprog": modeOf("bin/suidprog"),
      "bin/sgidprog": modeOf("bin/sgidprog"),
      "share/setuidpkg/ww.txt": modeOf("share/setuidpkg/ww.txt"),
      "share/setuidpkg/g.txt": modeOf("share/setuidpkg/g.txt"),
    }).toEqual({ "bin/suidprog": "755", "bin/sgidprog": "755", "share/setuidpkg/ww.txt": "644", "share/setuidpkg/g.txt": "644" });
    // The folders paths.json lists (0777 and 01777 in the archive) exist, as plain 755 folders.
    expect([typeOf("share/setuidpkg/open"), typeOf("share/setuidpkg/sticky")]).toEqual(["directory", "directory"]);
    // What `find /opt/conda ! -type l -perm /7022` would print: nothing.
    const loose = [...files.values()].filter((e) => e.type !== "symlink" && (e.mode & 0o7022) !== 0).map((e) => `${e.path} ${e.mode.toString(8)}`);
    expect(loose).toEqual([]);
  });

  it("escaper: a file behind the package's own symlink lib/evil -> /etc fails the build, naming lib/evil/passwd-owned and the symlink lib/evil", () => {
    const { res } = hostileBuild(engine, ["escaper"], explicitLock([pick("escaper")]));
    expect(res.code, tail(res.output)).not.toBe(0);
    expect(lineWith(res.output, /lib\/evil\/passwd-owned/, /symlink/i, /lib\/evil(?!\/)/), tail(res.output)).toBeDefined();
    expect(existsSync("/etc/passwd-owned")).toBe(false);
    expect(daemonUp(engine)).toBe(true);
  });

  it("truncated: a .conda cut in half (its hashes those of the cut bytes) fails the build as a corrupt or truncated archive, naming the package", () => {
    const pkg = pick("truncated");
    const { res } = hostileBuild(engine, ["truncated"], explicitLock([pkg]));
    expect(res.code, tail(res.output)).not.toBe(0);
    // One line names the package (its file, URL, or name and version) and says what is wrong; the
    // package's own name ("truncated") does not count as saying it, so the step names never match.
    const build = pkg.filename.replace(/^truncated-1\.0-|\.conda$/g, "");
    const named = new RegExp(`${esc(urlOf(pkg))}|${esc(pkg.filename)}|\\btruncated 1\\.0-${esc(build)}`);
    const withoutName = (l: string) => l.replaceAll(urlOf(pkg), "").replaceAll(pkg.filename, "").replace(/\btruncated 1\.0(-\S+)?|\btruncated:/g, "");
    const line = res.output.split("\n").find((l) => named.test(l) && !/^#\d+ \[(download|install)\]/.test(l) && /corrupt|truncat|unexpected end|incomplete/i.test(withoutName(l)));
    expect(line, tail(res.output)).toBeDefined();
    expect(daemonUp(engine)).toBe(true);
  });

  it("a wrong md5 in an @EXPLICIT lock fails the build, naming the file, its URL and the md5 mismatch", () => {
    const pkg = pick("greet-data");
    const wrong = "0123456789abcdef0123456789abcdef";
    const { res } = hostileBuild(engine, ["greet-data"], explicitLock([pkg], () => wrong));
    expect(res.code, tail(res.output)).not.toBe(0);
    expect(lineWith(res.output, new RegExp(esc(pkg.filename)), new RegExp(esc(urlOf(pkg))), /md5 mismatch/), tail(res.output)).toBeDefined();
    expect(daemonUp(engine)).toBe(true);
  });

  it("after all of them the daemon answers and an ordinary build from a lock succeeds", () => {
    expect(docker(engine, ["info", "--format", "{{.ServerVersion}}"]).code).toBe(0);
    const t = tag("after-hostile");
    const { res } = hostileBuild(engine, ["greet", "greet-data"], explicitLock(closure(["greet", "greet-data"])), ["-t", t, "--load"]);
    expect(res.code, tail(res.output)).toBe(0);
    const greet = docker(engine, ["run", "--rm", "--entrypoint", "/opt/conda/bin/greet", t]);
    expect(greet.code, greet.output).toBe(0);
    expect(greet.stdout).toContain("greet: libgreet=2.0");
  });
});
