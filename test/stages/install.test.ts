// The install stage's LLB: the install order, install steps that download and install one
// package each (or, above layerPerPackageUpTo, a run of packages each), their requests, the
// layers they stack as, the environment's conda-meta records, and which steps' cache keys a
// changed package touches.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { marshal, type State } from "../../src/llb";
import { MountType, NetMode, type PbDefinition, type PbMount, type PbOp } from "../../src/llb/pb";
import type { LockedPackage } from "../../src/input/lock";
import type { SourceRange } from "../../src/input/source";
import { download, downloadsAtOnce, downloadTries, foreignInstallSteps, installGroups, installSteps, requestInVariableUpTo, type InstallStage, type InstallStageInput, installOrder, installStage, layerPerPackageUpTo, maxPackageLayers, packageCache } from "../../src/stages/install";
import type { InstallGroupRequest, InstallRequest } from "../../src/conda/install-request";
import type { ToolImage } from "../../src/plan/image-plan";
import { type DecodedOp, decodeOps, metadataOf, opByDigest, resultOp } from "../llb/helpers";

const hex = (seed: string) => createHash("sha256").update(seed).digest("hex");
const md5hex = (seed: string) => createHash("md5").update(seed).digest("hex");

const tool: ToolImage = {
  ref: "localhost:5000/conda-frontend:test",
  digest: "sha256:" + "c".repeat(64),
  platform: { OS: "linux", Architecture: "amd64" },
  entrypoint: ["/nodejs/bin/node", "--snapshot-blob", "/frontend/startup.blob"],
  env: ["PATH=/usr/bin"],
};

interface PkgOptions {
  version?: string;
  build?: string;
  deps?: string[];
  noarch?: boolean;
  /** null: no sha256 (md5 only). */
  sha256?: string | null;
}

function pkg(name: string, o: PkgOptions = {}): LockedPackage {
  const version = o.version ?? "1.0";
  const build = o.build ?? (o.noarch ? "pyhd8ed1ab_0" : "h0_0");
  const filename = `${name}-${version}-${build}.conda`;
  const sha256 = o.sha256 === null ? undefined : (o.sha256 ?? hex(filename));
  return {
    name,
    version,
    build,
    platform: "linux-64",
    manager: "conda",
    url: `http://127.0.0.1:8765/${o.noarch ? "noarch" : "linux-64"}/${filename}`,
    filename,
    sha256,
    md5: md5hex(filename),
    dependencies: Object.fromEntries((o.deps ?? []).map((d) => [d, "*"])),
    category: "main",
    optional: false,
  };
}

function input(packages: LockedPackage[], over: Partial<InstallStageInput> = {}): InstallStageInput {
  return { tool, packages, prefix: "/opt/conda", requested: {}, variables: [], ignoreCache: false, compilePyc: false, privateChannels: [], network: "sandbox", ...over };
}

const names = (ps: LockedPackage[]) => ps.map((p) => p.name);
const customName = (def: PbDefinition, digest: string) => metadataOf(def, digest)?.description?.find((d) => d.key === "llb.customname")?.value;
const attrsOf = (op: PbOp) => Object.fromEntries((op.source?.attrs ?? []).map((a) => [a.key, a.value]));
const utf8 = (data: Uint8Array | undefined) => Buffer.from(data ?? new Uint8Array()).toString("utf8");

/** Seeded Fisher-Yates, so a failing shuffle can be reproduced. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Every dependency that is in the list comes before its dependent. */
function expectDependenciesFirst(order: LockedPackage[]) {
  const at = new Map(order.map((p, i) => [p.name, i]));
  for (const p of order) for (const d of Object.keys(p.dependencies)) if (at.has(d)) expect(at.get(d)!, `${d} before ${p.name}`).toBeLessThan(at.get(p.name)!);
}

/** An install step's layer: the exec op, what its mounts are bound to, and its request. */
interface Install {
  def: PbDefinition;
  exec: DecodedOp;
  name: string | undefined;
  mounts: PbMount[];
  at: (dest: string) => PbMount | undefined;
  /** The op bound at `dest`. */
  from: (dest: string) => DecodedOp;
  /** The step's whole request (the file mounted at /in), and its first package's. */
  group: InstallGroupRequest;
  request: InstallRequest;
}

function installOf(layer: State, opts: Parameters<typeof marshal>[1] = {}): Install {
  const def = marshal(layer, opts);
  return installIn(def, resultOp(def));
}

/** The step's request: in CONDA_FRONTEND_INSTALL_REQUEST (args name it), or a file mounted at /in. */
function requestText(def: PbDefinition, exec: DecodedOp): string {
  const { args, env } = exec.op.exec!.meta;
  if (args.at(-1) === "$CONDA_FRONTEND_INSTALL_REQUEST") {
    expect(exec.op.exec!.mounts.some((m) => m.dest === "/in")).toBe(false);
    const variable = (env ?? []).find((e) => e.startsWith("CONDA_FRONTEND_INSTALL_REQUEST="))!;
    return variable.slice(variable.indexOf("=") + 1);
  }
  expect(args.at(-1)).toBe("/in/request.json");
  const mount = exec.op.exec!.mounts.find((m) => m.dest === "/in")!;
  const mkfile = opByDigest(def, exec.op.inputs![mount.input ?? 0]!.digest).op.file!.actions[0]!.mkfile!;
  expect(mkfile.path).toBe("/request.json");
  return utf8(mkfile.data);
}

/** The install steps a layer holds, in order: its exec op, or those a copy of several stacks. */
function stepsIn(layer: State): Install[] {
  const def = marshal(layer);
  const top = resultOp(def);
  if (top.op.exec) return [installIn(def, top)];
  return top.op.file!.actions.map((a) => {
    expect(a.copy).toMatchObject({ src: "/", dest: "/", dirCopyContents: true });
    const source = top.op.inputs![a.secondaryInput ?? 0]!;
    expect(source.index ?? 0).toBe(0); // the exec's /out
    return installIn(def, opByDigest(def, source.digest));
  });
}

function installIn(def: PbDefinition, exec: DecodedOp): Install {
  if (!exec.op.exec) throw new Error("the layer is not an exec op's output");
  const mounts = exec.op.exec.mounts;
  const at = (dest: string) => mounts.find((m) => m.dest === dest);
  const from = (dest: string) => {
    const m = at(dest);
    // Decoded protobuf leaves zero values out: no input field means input 0.
    const input = m?.input ?? 0;
    if (!m || input < 0) throw new Error(`no input mounted at ${dest}`);
    return opByDigest(def, exec.op.inputs![input]!.digest);
  };
  const group = JSON.parse(requestText(def, exec)) as InstallGroupRequest;
  return { def, exec, name: customName(def, exec.digest), mounts, at, from, group, request: group.packages[0]! };
}

/** Digests of every named op reachable from the stage's layers, by vertex name. */
function digestsByName(stage: InstallStage): Map<string, string> {
  const out = new Map<string, string>();
  for (const layer of stage.layers) {
    const def = marshal(layer);
    for (const o of decodeOps(def).slice(0, -1)) {
      const n = customName(def, o.digest);
      if (n) out.set(n, o.digest);
    }
  }
  return out;
}

const layerDigests = (stage: InstallStage) => stage.layers.map((l) => resultOp(marshal(l)).digest);

// A small python environment: compiled packages, noarch python packages, and a chain.
const python = pkg("python", { version: "3.12.1", build: "h1_0_cpython", deps: ["libffi", "libzlib", "openssl"] });
const env = [
  pkg("libzlib", { version: "1.3.1" }),
  pkg("libffi", { version: "3.4.2" }),
  pkg("openssl", { version: "3.2.0", deps: ["ca-certificates"] }),
  pkg("ca-certificates", { version: "2024.2.2", noarch: true, build: "hbcca054_0" }),
  python,
  pkg("urllib3", { version: "2.1.0", noarch: true, deps: ["python"] }),
  pkg("requests", { version: "2.31.0", noarch: true, deps: ["python", "urllib3"] }),
];

describe("installOrder", () => {
  it("puts dependencies before their dependents", () => {
    const order = installOrder([pkg("app", { deps: ["libb"] }), pkg("libb", { deps: ["zlib"] }), pkg("zlib")]);
    expect(names(order)).toEqual(["zlib", "libb", "app"]);
    expectDependenciesFirst(installOrder(env));
  });

  it("orders packages that do not depend on each other by name", () => {
    expect(names(installOrder([pkg("cython"), pkg("attrs"), pkg("numpy"), pkg("bzip2")]))).toEqual(["attrs", "bzip2", "cython", "numpy"]);
    // A dependency is pulled forward, but its unrelated neighbours stay alphabetical.
    expect(names(installOrder([pkg("b"), pkg("a", { deps: ["z"] }), pkg("c"), pkg("z")]))).toEqual(["z", "a", "b", "c"]);
  });

  it("gives the same order whatever order the lock lists the packages in", () => {
    const reference = names(installOrder(env));
    expect(reference).toHaveLength(env.length);
    for (let seed = 1; seed <= 25; seed++) expect(names(installOrder(shuffled(env, seed)))).toEqual(reference);
    expect(names(installOrder([...env].reverse()))).toEqual(reference);
  });

  it("does not hang on a dependency cycle, and breaks it the same way for any input order", () => {
    const cycle = [pkg("a", { deps: ["b"] }), pkg("b", { deps: ["c"] }), pkg("c", { deps: ["a"] }), pkg("d", { deps: ["a"] }), pkg("e")];
    const reference = names(installOrder(cycle));
    expect([...reference].sort()).toEqual(["a", "b", "c", "d", "e"]);
    // d depends on the cycle from outside it: it still comes after it.
    expect(reference.indexOf("d")).toBeGreaterThan(reference.indexOf("a"));
    for (let seed = 1; seed <= 20; seed++) expect(names(installOrder(shuffled(cycle, seed)))).toEqual(reference);
    // A package depending on itself is placed once.
    expect(names(installOrder([pkg("self", { deps: ["self"] }), pkg("other")]))).toEqual(["other", "self"]);
  });

  it("ignores dependencies that are not in the list (virtual packages, pip packages)", () => {
    const order = installOrder([pkg("numpy", { deps: ["__glibc", "libblas", "python"] }), pkg("python", { deps: ["__unix"] })]);
    expect(names(order)).toEqual(["python", "numpy"]);
    expect(installOrder([])).toEqual([]);
  });

  it("returns the given package objects, each once", () => {
    const order = installOrder(env);
    expect(new Set(order).size).toBe(env.length);
    for (const p of order) expect(env).toContain(p);
  });
});

describe("download", () => {
  it("is an HTTP source of the package's URL, verified by its sha256 and saved under its file name", () => {
    const p = pkg("zlib", { version: "1.3.1" });
    const def = marshal(download(p));
    const source = resultOp(def);
    expect(source.op.source!.identifier).toBe(p.url);
    expect(attrsOf(source.op)).toEqual({ "http.checksum": `sha256:${p.sha256}`, "http.filename": "zlib-1.3.1-h0_0.conda" });
    expect(customName(def, source.digest)).toBe(`[download] zlib 1.3.1 from ${p.url}`);
  });

  it("has no checksum attr when the lock gives only an md5", () => {
    const p = pkg("zlib", { sha256: null });
    expect(p.md5).toBeDefined();
    const source = resultOp(marshal(download(p)));
    expect(attrsOf(source.op)).toEqual({ "http.filename": p.filename });
  });

  it("is a different op for a different sha256, and the same op for the same package", () => {
    const a = resultOp(marshal(download(pkg("zlib")))).digest;
    expect(resultOp(marshal(download(pkg("zlib")))).digest).toBe(a);
    expect(resultOp(marshal(download(pkg("zlib", { sha256: "0".repeat(64) })))).digest).not.toBe(a);
  });

  it("maps the download to the given source range", () => {
    const range: SourceRange = { start: { line: 5, character: 4 }, end: { line: 5, character: 14 } };
    const info = { filename: "environment.yml", data: Buffer.from("x"), language: "yaml" };
    const def = marshal(download(pkg("zlib"), range), { sourceInfo: info });
    expect(def.Source!.locations![resultOp(def).digest]).toEqual({ locations: [{ sourceIndex: 0, ranges: [range] }] });
  });
});

describe("installStage: the install step", () => {
  it("runs one exec op per package: the tool's install --group with the request in a variable, malloc on huge pages, with the build's network for its downloads", () => {
    const stage = installStage(input(env, { network: "host" }));
    expect(stage.layers).toHaveLength(env.length + 1);
    for (const layer of stage.layers.slice(0, -1)) {
      const i = installOf(layer);
      // The args (they become the layer's history) name no package.
      expect(i.exec.op.exec!.meta.args).toEqual(["/nodejs/bin/node", "--snapshot-blob", "/frontend/startup.blob", "install", "--group", "$CONDA_FRONTEND_INSTALL_REQUEST"]);
      expect(i.group.packages).toHaveLength(1);
      expect(i.request).toMatchObject({ outRoot: "/out", prefix: "/opt/conda" });
      expect(i.exec.op.exec!.network).toBe(NetMode.HOST);
      expect((i.exec.op.exec!.meta.env ?? []).filter((e) => !e.startsWith("CONDA_FRONTEND_INSTALL_REQUEST="))).toEqual(["PATH=/usr/bin", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"]);
      expect(i.from("/").op.source!.identifier).toBe(`docker-image://${tool.ref}@${tool.digest}`);
    }
  });

  it("passes a request longer than requestInVariableUpTo as a file mounted at /in, named after the step", () => {
    // Long URLs make one package's request long.
    const long = (n: string) => ({ ...pkg(n), url: `http://127.0.0.1:8765/${"x".repeat(2000)}/linux-64/${n}-1.0-h0_0.conda` });
    const many = Array.from({ length: 400 }, (_, i) => long(`p${String(i).padStart(3, "0")}`));
    const steps = installStage(input(many)).layers.slice(0, -1).flatMap(stepsIn);
    const inFiles = steps.filter((st) => st.exec.op.exec!.meta.args.at(-1) === "/in/request.json");
    expect(inFiles.length).toBeGreaterThan(0);
    for (const st of inFiles) {
      expect(JSON.stringify(st.group).length).toBeGreaterThan(requestInVariableUpTo);
      expect(st.at("/in")!.readonly).toBe(true);
      expect(customName(st.def, st.from("/in").digest)).toMatch(/^\[install\] request for \d+ packages: p\d{3}/);
      expect((st.exec.op.exec!.meta.env ?? []).some((e) => e.startsWith("CONDA_FRONTEND_INSTALL_REQUEST="))).toBe(false);
    }
    // Short ones stay in the variable.
    for (const st of steps.filter((x) => !inFiles.includes(x))) expect(JSON.stringify(st.group).length).toBeLessThanOrEqual(requestInVariableUpTo);
  });

  it("mounts the shared package cache, /out writable as the layer, /report for its reports, and a tmpfs /tmp", () => {
    const p = pkg("zlib", { version: "1.3.1" });
    const stage = installStage(input([p]));
    const i = installOf(stage.layers[0]!);
    expect(i.mounts.map((m) => m.dest)).toEqual(["/", "/out", "/report", "/tmp", packageCache.dest]);
    expect(i.at(packageCache.dest)!.mountType).toBe(MountType.CACHE);
    expect(i.at(packageCache.dest)!.cacheOpt).toMatchObject({ ID: packageCache.id });
    // The report is the same step's other output, never a layer of the image.
    expect(i.at("/report")!.input).toBe(-1);
    const reportOp = decodeOps(marshal(stage.reports[0]!)).at(-1)!;
    expect(reportOp.op.inputs![0]!.index).toBe(i.at("/report")!.output);
    expect(i.at("/report")!.output).not.toBe(i.at("/out")!.output);
    expect(i.at("/out")!.readonly ?? false).toBe(false);
    expect(i.at("/out")!.input).toBe(-1); // starts empty
    // The root (our tool's image) is read-only and no output: the step's outputs are /out, /report.
    expect(i.at("/")!.readonly).toBe(true);
    expect(i.at("/")!.output).toBe(-1);
    expect(i.at("/out")!.output ?? 0).toBe(0);
    expect(i.at("/tmp")!.mountType).toBe(MountType.TMPFS);
    // The layer is the /out mount.
    const terminal = decodeOps(i.def).at(-1)!;
    expect(terminal.op.inputs![0]!.index ?? 0).toBe(0);
    // No input but the tool image: no HTTP source (the step downloads) and no request file.
    expect(i.exec.op.inputs).toHaveLength(1);
    expect(decodeOps(i.def).some((o) => o.op.source?.identifier.startsWith("http"))).toBe(false);
  });

  it("writes the group request: the archive to download (url, hashes) into the cache, a few at once and retried, and the install request reading it from there", () => {
    const p = pkg("zlib", { version: "1.3.1" });
    const i = installOf(installStage(input([p], { prefix: "/env" })).layers[0]!);
    const archive = `${packageCache.dest}/${p.sha256}-zlib-1.3.1-h0_0.conda`;
    expect(i.group).toEqual({
      cache: packageCache.dest,
      downloads: [{ url: p.url, filename: p.filename, sha256: p.sha256, md5: p.md5 }],
      packages: [{ archive, url: p.url, filename: p.filename, name: "zlib", version: "1.3.1", build: p.build, md5: p.md5, sha256: p.sha256, prefix: "/env", outRoot: "/out", report: "/report/zlib.json" }],
      parallel: downloadsAtOnce,
      attempts: downloadTries,
    });
    expect(downloadsAtOnce).toBeGreaterThan(1);
    expect(downloadTries).toBeGreaterThan(1);
    // An md5-only package is kept under its md5.
    const md5Only = installOf(installStage(input([pkg("zlib", { sha256: null })])).layers[0]!);
    expect(md5Only.request.archive).toBe(`${packageCache.dest}/${md5Only.request.md5}-${md5Only.request.filename}`);
  });

  it("records requested_spec only for the packages the user asked for, and the epoch when given", () => {
    const ps = [pkg("python", { deps: ["libzlib"] }), pkg("libzlib")];
    const stage = installStage(input(ps, { requested: { python: "python=3.12" }, sourceDateEpoch: 1700000000 }));
    expect(stage.order).toEqual(["libzlib", "python"]);
    const [zlib, py] = stage.layers.slice(0, 2).map((l) => installOf(l).request);
    expect(py!.requestedSpec).toBe("python=3.12");
    expect(zlib).not.toHaveProperty("requestedSpec");
    expect(py!.epoch).toBe(1700000000);
    expect(zlib!.epoch).toBe(1700000000);
    const noEpoch = installOf(installStage(input(ps)).layers[0]!).request;
    expect(noEpoch).not.toHaveProperty("epoch");
  });

  it("downloads python's archive too for a noarch package when python is in the environment, and names it as pythonArchive", () => {
    const stage = installStage(input(env));
    const requests = installOf(stage.layers[stage.order.indexOf("requests")]!);
    expect(requests.group.downloads.map((d) => d.filename)).toEqual([`requests-2.31.0-pyhd8ed1ab_0.conda`, python.filename]);
    expect(requests.request.pythonArchive).toBe(`${packageCache.dest}/${python.sha256}-${python.filename}`);
    expect(requests.request.archive).toBe(`${packageCache.dest}/${env.find((p) => p.name === "requests")!.sha256}-requests-2.31.0-pyhd8ed1ab_0.conda`);
  });

  it("downloads python's archive once for a run of several noarch packages", () => {
    const noarch = Array.from({ length: 40 }, (_, i) => pkg(`n${String(i).padStart(2, "0")}`, { noarch: true, deps: ["python"] }));
    const stage = installStage(input([python, ...noarch]));
    const steps = stage.layers.slice(0, -1).flatMap(stepsIn).filter((st) => st.group.packages.length > 1);
    expect(steps.length).toBeGreaterThan(0);
    for (const st of steps) {
      const files = st.group.downloads.map((d) => d.filename);
      expect(files.filter((f) => f === python.filename)).toHaveLength(1);
      expect(files).toHaveLength(st.group.packages.length + 1);
      for (const r of st.group.packages) expect(r.pythonArchive).toBe(`${packageCache.dest}/${python.sha256}-${python.filename}`);
    }
    // With --provenance=mode=max, python's HTTP source is mounted once per step too.
    for (const st of installStage(input([python, ...noarch], { provenance: true })).layers.slice(0, -1).flatMap(stepsIn).filter((x) => x.group.packages.length > 1)) {
      expect(st.mounts.filter((m) => m.dest.startsWith("/http/"))).toHaveLength(st.group.packages.length + 1);
    }
  });

  it("asks for no python for a linux-64 package, nor for a noarch one when there is no python", () => {
    const stage = installStage(input(env));
    for (const name of ["libzlib", "openssl", "python"]) {
      const i = installOf(stage.layers[stage.order.indexOf(name)]!);
      expect(i.group.downloads, name).toHaveLength(1);
      expect(i.request, name).not.toHaveProperty("pythonArchive");
      expect(i.at("/pyenv"), name).toBeUndefined();
    }
    const alone = installOf(installStage(input([pkg("tzdata", { noarch: true, build: "h0_0" })])).layers[0]!);
    expect(alone.request).not.toHaveProperty("pythonArchive");
  });

  it("with .pyc compilation, mounts python's layer at /pyenv for the other packages and compiles python with its own /out", () => {
    const stage = installStage(input(env, { compilePyc: true }));
    const py = installOf(stage.layers[stage.order.indexOf("python")]!);
    expect(py.request.compilePycWith).toBe("/out");
    expect(py.at("/pyenv")).toBeUndefined();
    const zlib = installOf(stage.layers[stage.order.indexOf("libzlib")]!);
    expect(zlib.request.compilePycWith).toBe("/pyenv");
    expect(zlib.at("/pyenv")!.readonly).toBe(true);
    expect(zlib.from("/pyenv").digest).toBe(py.exec.digest);
    // Named by the step that made it: BuildKit does not hash python's whole tree before each step.
    expect(zlib.at("/pyenv")!.contentCache).toBe(2);
    // Compiling needs python's version: its archive is downloaded too.
    expect(zlib.request.pythonArchive).toBe(`${packageCache.dest}/${python.sha256}-${python.filename}`);
  });

  it("with a build-machine python to compile with (a foreign platform), mounts it at /pyenv for every package, python's own step too", () => {
    const compiler = installStage(input([pkg("python", { version: "3.11.2", build: "h9_0_cpython" })])).layers[0]!;
    const stage = installStage(input(env, { compilePyc: true, pycCompiler: compiler }));
    const compilerDigest = installOf(compiler).exec.digest;
    for (const name of ["python", "libzlib", "requests"]) {
      const i = installOf(stage.layers[stage.order.indexOf(name)]!);
      expect(i.request.compilePycWith, name).toBe("/pyenv");
      expect(i.at("/pyenv")!.readonly, name).toBe(true);
      expect(i.from("/pyenv").digest, name).toBe(compilerDigest);
    }
    // Without compilation the compiler is not mounted.
    const off = installOf(installStage(input(env, { compilePyc: false, pycCompiler: compiler })).layers[0]!);
    expect(off.at("/pyenv")).toBeUndefined();
  });

  it("names the step [install] <name> <version>-<build>", () => {
    const stage = installStage(input(env));
    const byOrder = stage.layers.slice(0, -1).map((l) => installOf(l));
    expect(byOrder.map((i) => i.name)).toEqual(installOrder(env).map((p) => `[install] ${p.name} ${p.version}-${p.build}`));
    expect(byOrder.map((i) => i.name)).toContain("[install] python 3.12.1-h1_0_cpython");
  });

  it("marks the install steps ignore_cache only when asked", () => {
    const cached = installOf(installStage(input(env)).layers[0]!);
    expect(metadataOf(cached.def, cached.exec.digest)?.ignore_cache ?? false).toBe(false);
    for (const layer of installStage(input(env, { ignoreCache: true })).layers.slice(0, -1)) {
      const fresh = installOf(layer);
      expect(metadataOf(fresh.def, fresh.exec.digest)?.ignore_cache).toBe(true);
    }
  });

  it("maps the install step to the package's source range", () => {
    const range: SourceRange = { start: { line: 4, character: 4 }, end: { line: 4, character: 18 } };
    const info = { filename: "environment.yml", data: Buffer.from("dependencies:\n  - requests\n"), language: "yaml" };
    const stage = installStage(input(env, { sourceRange: (name) => (name === "requests" ? range : undefined) }));
    const requests = installOf(stage.layers[stage.order.indexOf("requests")]!, { sourceInfo: info });
    const locations = requests.def.Source!.locations!;
    expect(locations[requests.exec.digest]).toEqual({ locations: [{ sourceIndex: 0, ranges: [range] }] });
    expect(requests.def.Source!.infos).toEqual([info]);
    // A package without a range has no locations.
    const zlib = installOf(stage.layers[stage.order.indexOf("libzlib")]!, { sourceInfo: info });
    expect(zlib.def.Source).toBeUndefined();
  });

  it("gives a range for every package when the callback does, each its own", () => {
    const rangeOf = (name: string): SourceRange => ({ start: { line: 2 + name.length, character: 4 }, end: { line: 2 + name.length, character: 10 } });
    const info = { filename: "environment.yml", data: Buffer.from("x"), language: "yaml" };
    const stage = installStage(input(env, { sourceRange: rangeOf }));
    stage.order.forEach((name, idx) => {
      const i = installOf(stage.layers[idx]!, { sourceInfo: info });
      expect(i.def.Source!.locations![i.exec.digest]!.locations[0]!.ranges).toEqual([rangeOf(name)]);
    });
  });
});

describe("installStage: --provenance=mode=max", () => {
  it("mounts each public archive as BuildKit's HTTP source at /http/<i> (provenance lists those), and the step downloads nothing, without network", () => {
    const stage = installStage(input(env, { provenance: true }));
    const requests = installOf(stage.layers[stage.order.indexOf("requests")]!);
    const r = env.find((p) => p.name === "requests")!;
    expect(requests.group.downloads).toEqual([]);
    expect(requests.request.archive).toBe(`/http/0/${r.filename}`);
    expect(requests.request.pythonArchive).toBe(`/http/1/${python.filename}`);
    expect(requests.from("/http/0").digest).toBe(resultOp(marshal(download(r))).digest);
    expect(requests.from("/http/1").op.source!.identifier).toBe(python.url);
    expect(requests.at("/http/0")!.readonly).toBe(true);
    expect(requests.at(packageCache.dest)).toBeUndefined();
    expect(requests.exec.op.exec!.network).toBe(NetMode.NONE);
  });
});

describe("installStage: private channels", () => {
  const privateUrl = "http://127.0.0.1:8765";

  it("downloads a private package in the step with the conda-auth secret mounted, marked private in the request", () => {
    const stage = installStage(input([pkg("zlib")], { privateChannels: [privateUrl] }));
    const install = installOf(stage.layers[0]!);
    expect(install.group.downloads[0]!.private).toBe(true);
    expect(install.at("/run/secrets/conda-auth")?.secretOpt?.ID).toBe("conda-auth");
  });

  it("keeps a private package a download of ours under --provenance=mode=max (BuildKit's HTTP source would need the secret as a header)", () => {
    const install = installOf(installStage(input([pkg("zlib")], { privateChannels: [privateUrl], provenance: true })).layers[0]!);
    expect(install.group.downloads).toHaveLength(1);
    expect(install.at("/run/secrets/conda-auth")).toBeDefined();
  });

  it("mounts no secret for public packages", () => {
    const stage = installStage(input([pkg("zlib")], { privateChannels: ["http://other.example/private"] }));
    const install = installOf(stage.layers[0]!);
    expect(install.group.downloads[0]).not.toHaveProperty("private");
    expect(install.mounts.some((m) => m.secretOpt)).toBe(false);
  });
});

describe("installStage: layers", () => {
  it("describes each layer for the image's history, in layer order", () => {
    const stage = installStage(input(env));
    expect(stage.history).toHaveLength(stage.layers.length);
    stage.order.forEach((name, idx) => {
      const p = env.find((e) => e.name === name)!;
      expect(stage.history[idx]).toBe(`conda-frontend: install ${p.name} ${p.version}-${p.build} into /opt/conda`);
    });
    expect(stage.history.at(-1)).toBe("conda-frontend: /opt/conda/conda-meta/history");
    const many = Array.from({ length: layerPerPackageUpTo + 8 }, (_, i) => pkg(`p${String(i).padStart(2, "0")}`));
    const grouped = installStage(input(many, { mergeOp: false }));
    expect(grouped.history).toHaveLength(grouped.layers.length);
    // Every package is named in exactly one layer's entry.
    expect(grouped.history.slice(0, -1).flatMap((h) => [...h.matchAll(/(p\d\d) /g)].map((m) => m[1])).sort()).toEqual(many.map((p) => p.name));
  });

  it("stacks one layer per package in install order, then the environment's records", () => {
    const stage = installStage(input(shuffled(env, 7)));
    expect(stage.order).toEqual(names(installOrder(env)));
    expect(stage.layers).toHaveLength(env.length + 1);
    stage.order.forEach((name, idx) => expect(installOf(stage.layers[idx]!).name).toMatch(new RegExp(`^\\[install\\] ${name} `)));
    expect(resultOp(marshal(stage.layers.at(-1)!)).op.file).toBeDefined();
  });

  /** The records layer: a copy onto scratch of the state that makes them. */
  function recordsOf(layer: State) {
    const def = marshal(layer);
    const placed = resultOp(def);
    const copy = placed.op.file!.actions;
    expect(copy).toHaveLength(1);
    const source = opByDigest(def, placed.op.inputs![copy[0]!.secondaryInput ?? 0]!.digest);
    const actions = source.op.file!.actions;
    const mkfiles = actions.filter((a) => a.mkfile).map((a) => a.mkfile!);
    return { def, placed, copy: copy[0]!.copy!, copyAction: copy[0]!, source, actions, mkfiles, text: (i: number) => utf8(mkfiles[i]!.data) };
  }

  it("writes conda-meta/history (and no state without variables) as the last layer", () => {
    const stage = installStage(input(env, { requested: { python: "python=3.12", requests: "requests" } }));
    const r = recordsOf(stage.layers.at(-1)!);
    expect(r.copyAction.input).toBe(-1); // onto scratch
    expect(r.copy).toMatchObject({ src: "/", dest: "/", dirCopyContents: true });
    expect(r.source.op.inputs ?? []).toEqual([]); // from scratch
    expect(r.actions).toHaveLength(2);
    expect(r.actions[0]!.mkdir).toMatchObject({ path: "/opt/conda/conda-meta", makeParents: true });
    expect(r.mkfiles.map((m) => m.path)).toEqual(["/opt/conda/conda-meta/history"]);
    expect(customName(r.def, r.source.digest)).toBe("[install] conda-meta/history");
    const history = r.text(0);
    const lines = history.split("\n");
    expect(lines[0]).toMatch(/^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==$/);
    // One line per package, sorted as conda writes them: channel/subdir::name-version-build.
    const added = lines.filter((l) => l.startsWith("+"));
    // A URL channel is named by its URL (conda's canonical name for it), then the subdir.
    expect(added).toEqual(env.map((p) => `+${p.url.slice(0, p.url.lastIndexOf("/"))}::${p.name}-${p.version}-${p.build}`).sort());
    expect(added).toContain("+http://127.0.0.1:8765/noarch::requests-2.31.0-pyhd8ed1ab_0");
    // The specs as a Python list, which conda reads back with literal_eval.
    expect(lines).toContain("# update specs: ['python=3.12', 'requests']");
    expect(history.endsWith("\n")).toBe(true);
  });

  it("dates the history, its files and every folder it makes with SOURCE_DATE_EPOCH", () => {
    const layer = () => installStage(input(env, { sourceDateEpoch: 1700000000 })).layers.at(-1)!;
    const r = recordsOf(layer());
    expect(r.text(0).split("\n")[0]).toBe("==> 2023-11-14 22:13:20 <==");
    expect(Number(r.actions[0]!.mkdir!.timestamp)).toBe(1700000000 * 1e9);
    expect(Number(r.mkfiles[0]!.timestamp)).toBe(1700000000 * 1e9);
    // The copy's time goes to every file and folder it copies (the folders above conda-meta too).
    expect(Number(r.copy.timestamp)).toBe(1700000000 * 1e9);
    // The same inputs give the same records op.
    expect(recordsOf(layer()).placed.digest).toBe(r.placed.digest);
  });

  it("writes conda-meta/state with the environment's variables as env_vars", () => {
    const variables: [string, string][] = [
      ["MY_HOME", "/data"],
      ["LOG_LEVEL", "debug"],
    ];
    const r = recordsOf(installStage(input(env, { variables })).layers.at(-1)!);
    expect(r.mkfiles.map((m) => m.path)).toEqual(["/opt/conda/conda-meta/history", "/opt/conda/conda-meta/state"]);
    expect(JSON.parse(r.text(1))).toEqual({ env_vars: { MY_HOME: "/data", LOG_LEVEL: "debug" } });
    expect(customName(r.def, r.source.digest)).toBe("[install] conda-meta/history and state");
  });

  it("writes the records under the given prefix", () => {
    const r = recordsOf(installStage(input([pkg("zlib")], { prefix: "/env", variables: [["A", "1"]] })).layers.at(-1)!);
    expect(r.actions.map((a) => (a.mkdir ?? a.mkfile)!.path)).toEqual(["/env/conda-meta", "/env/conda-meta/history", "/env/conda-meta/state"]);
  });

  it("keeps one layer per package up to layerPerPackageUpTo", () => {
    const many = Array.from({ length: layerPerPackageUpTo }, (_, i) => pkg(`p${String(i).padStart(3, "0")}`));
    const stage = installStage(input(many));
    expect(stage.layers).toHaveLength(layerPerPackageUpTo + 1);
    for (const layer of stage.layers.slice(0, -1)) expect(resultOp(marshal(layer)).op.exec).toBeDefined();
  });

  for (const [count, mergeOp] of [[layerPerPackageUpTo + 1, true], [230, true], [230, false], [1000, false]] as const) {
    it(`installs ${count} packages in about installSteps runs of consecutive packages, stacked as about maxPackageLayers(${mergeOp}) layers, in order`, () => {
      // A chain p000 <- p001 <- ... so the install order is not just the input order.
      const many = Array.from({ length: count }, (_, i) => pkg(`p${String(count - 1 - i).padStart(3, "0")}`, { deps: i + 1 < count ? [`p${String(count - 2 - i).padStart(3, "0")}`] : [] }));
      const stage = installStage({ ...input(shuffled(many, count)), mergeOp });
      expect(stage.order).toHaveLength(count);
      expect(stage.order).toEqual(names(installOrder(many)));
      const layers = stage.layers.slice(0, -1);
      const budget = maxPackageLayers(mergeOp);
      expect(layers.length).toBeLessThanOrEqual(2 * budget);
      expect(layers.length).toBeGreaterThanOrEqual(budget / 4);
      const steps = layers.flatMap(stepsIn);
      expect(steps.length).toBeLessThanOrEqual(2 * installSteps);
      expect(steps.length).toBeGreaterThanOrEqual(installSteps / 4);
      const size = Math.ceil(count / installSteps);
      for (const st of steps) expect(st.group.packages.length).toBeLessThanOrEqual(2 * size);
      // Each step installs its run in order into its one /out; together, every package once.
      expect(steps.flatMap((st) => st.group.packages.map((r) => r.name))).toEqual(stage.order);
      expect(steps.flatMap((st) => st.group.downloads.map((d) => d.filename))).toEqual(installOrder(many).map((p) => p.filename));
      expect(stage.reports).toHaveLength(steps.length);
      expect(stage.history).toHaveLength(layers.length + 1);
      // The records layer still comes last.
      expect(recordsOf(stage.layers.at(-1)!).text(0)).toContain("::p000-1.0-h0_0");
    });
  }

  it("installs a foreign platform's packages in a few steps, a layer each, in order", () => {
    const stage = installStage(input(env, { foreign: true }));
    const layers = stage.layers.slice(0, -1).map(stepsIn);
    // One step per layer; fewer steps than packages; every package once, in install order.
    for (const l of layers) expect(l).toHaveLength(1);
    expect(layers.length).toBeLessThan(env.length);
    expect(layers.flat().flatMap((st) => st.group.packages.map((r) => r.name))).toEqual(stage.order);
    expect(layers.find((l) => l[0]!.group.packages.some((r) => r.name === "python"))![0]!.group.packages).toHaveLength(1);
    expect(stage.reports).toHaveLength(layers.length);
  });

  it("keeps python a step and layer of its own when packages are grouped", () => {
    // 40 packages, python in the middle of the order, half of them depending on it.
    const many = Array.from({ length: 40 }, (_, i) => pkg(`p${String(i).padStart(3, "0")}`, { deps: i >= 20 ? ["python"] : [] }));
    const stage = installStage(input([...many, pkg("python", { version: "3.12.1" })]));
    const layers = stage.layers.slice(0, -1).map(stepsIn);
    expect(stage.order.indexOf("python")).toBe(20);
    const alone = layers.filter((l) => l.some((st) => st.group.packages.some((r) => r.name === "python")));
    expect(alone).toHaveLength(1);
    expect(alone[0]).toHaveLength(1);
    expect(alone[0]![0]!.group.packages).toHaveLength(1);
    expect(alone[0]![0]!.name).toBe("[install] python 3.12.1-h0_0");
    // Layers stay in install order: those below python hold p000-p019, those above p020-p039.
    const below = layers.slice(0, layers.indexOf(alone[0]!)).flat().flatMap((st) => st.group.packages.map((r) => r.name));
    expect(below).toEqual(many.slice(0, 20).map((p) => p.name));
  });
});

describe("installGroups", () => {
  const many = (n: number, prefix = "pkg") => Array.from({ length: n }, (_, i) => pkg(`${prefix}${String(i).padStart(4, "0")}`));

  it("gives each package a group of its own up to layerPerPackageUpTo", () => {
    const ps = many(layerPerPackageUpTo);
    expect(installGroups(ps)).toEqual(ps.map((p) => [p]));
  });

  it("ends runs where names say, not where positions do: adding a package changes only the run it joins", () => {
    const ps = many(300);
    const before = installGroups(ps).map((g) => names(g).join(","));
    const added = [...ps.slice(0, 150), pkg("pkg0149a"), ...ps.slice(150)];
    const after = installGroups(added).map((g) => names(g).join(","));
    const changed = after.filter((g) => !before.includes(g));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toContain("pkg0149a");
    expect(before.filter((g) => !after.includes(g))).toHaveLength(1);
  });

  it("groups a foreign platform's packages into about foreignInstallSteps runs even when few, python and the packages `alone` names each apart", () => {
    const ps = [...many(14), pkg("python", { version: "3.11.2" }), pkg("shared")];
    const groups = installGroups(ps, { foreign: true, alone: (p) => p.name === "shared" });
    expect(groups.flat()).toEqual(ps);
    expect(groups.filter((g) => g.some((p) => p.name === "python" || p.name === "shared"))).toEqual([[ps[14]], [ps[15]]]);
    const runs = groups.filter((g) => g[0]!.name.startsWith("pkg"));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(2 * foreignInstallSteps);
    for (const r of runs) expect(r.length).toBeLessThanOrEqual(2 * Math.ceil(14 / foreignInstallSteps));
    // The build machine's own platform keeps a step per package at this size.
    expect(installGroups(ps)).toHaveLength(ps.length);
  });

  it("keeps a run's members when one of them changes version (the same names, the same runs)", () => {
    const ps = many(150);
    const changed = ps.map((p) => (p.name === "pkg0077" ? pkg("pkg0077", { version: "1.1" }) : p));
    expect(installGroups(changed).map(names)).toEqual(installGroups(ps).map(names));
  });
});

describe("installStage: cache keys", () => {
  const installs = (stage: InstallStage) =>
    new Map([...digestsByName(stage)].filter(([n]) => n.startsWith("[install] ") && !n.startsWith("[install] request for ") && !n.includes("conda-meta")));

  it("gives the same LLB for the same input", () => {
    expect(layerDigests(installStage(input(env)))).toEqual(layerDigests(installStage(input(shuffled(env, 3)))));
  });

  it("re-runs only a changed package's install step", () => {
    const before = installStage(input(env));
    const changed = env.map((p) => (p.name === "openssl" ? { ...p, sha256: hex("another build of openssl") } : p));
    const after = installStage(input(changed));
    const [ib, ia] = [installs(before), installs(after)];
    expect(ib.size).toBe(env.length);
    expect([...ia.keys()].sort()).toEqual([...ib.keys()].sort());
    for (const [name, digest] of ib) {
      if (name.startsWith("[install] openssl ")) expect(ia.get(name), name).not.toBe(digest);
      else expect(ia.get(name), name).toBe(digest);
    }
    // Layers: only openssl's changes; the history names packages, not hashes.
    const [lb, la] = [layerDigests(before), layerDigests(after)];
    lb.forEach((d, i) => {
      if (before.order[i] === "openssl") expect(la[i]).not.toBe(d);
      else expect(la[i], before.order[i] ?? "records").toBe(d);
    });
  });

  it("re-runs the noarch packages, and only them, when python changes", () => {
    const before = installs(installStage(input(env)));
    const changed = env.map((p) => (p.name === "python" ? { ...p, sha256: hex("another python") } : p));
    const after = installs(installStage(input(changed)));
    const noarch = new Set(env.filter((p) => p.url.includes("/noarch/")).map((p) => p.name));
    for (const [name, digest] of before) {
      const pkgName = name.split(" ")[1]!;
      if (pkgName === "python" || noarch.has(pkgName)) expect(after.get(name), name).not.toBe(digest);
      else expect(after.get(name), name).toBe(digest);
    }
  });

  it("keeps every other package's install step when a package is added or the user's specs change", () => {
    const base = installs(installStage(input(env)));
    const added = installs(installStage(input([...env, pkg("aaa-extra", { deps: ["openssl"] })])));
    for (const [name, digest] of base) expect(added.get(name), name).toBe(digest);
    expect(added.size).toBe(base.size + 1);
    const requested = installs(installStage(input(env, { requested: { requests: "requests >=2" } })));
    for (const [name, digest] of base) {
      if (name.startsWith("[install] requests ")) expect(requested.get(name)).not.toBe(digest);
      else expect(requested.get(name), name).toBe(digest);
    }
  });

  it("changes only the step and layer of the run holding a changed package when packages are grouped", () => {
    const many = Array.from({ length: 230 }, (_, i) => pkg(`p${String(i).padStart(3, "0")}`));
    const before = installStage(input(many));
    const after = installStage(input(many.map((p) => (p.name === "p117" ? { ...p, sha256: hex("p117 again") } : p))));
    const [lb, la] = [layerDigests(before), layerDigests(after)];
    expect(la).toHaveLength(lb.length);
    const changedAt = lb.flatMap((d, i) => (la[i] === d ? [] : [i]));
    expect(changedAt).toHaveLength(1);
    // In that layer, only the step holding p117 changed: its run of packages, a few of 230.
    const [sb, sa] = [stepsIn(before.layers[changedAt[0]!]!), stepsIn(after.layers[changedAt[0]!]!)];
    const changedSteps = sb.filter((st, i) => st.exec.digest !== sa[i]!.exec.digest);
    expect(changedSteps).toHaveLength(1);
    expect(changedSteps[0]!.group.packages.map((r) => r.name)).toContain("p117");
    expect(changedSteps[0]!.group.packages.length).toBeLessThanOrEqual(2 * Math.ceil(230 / installSteps));
  });
});
