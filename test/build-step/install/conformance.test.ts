// The installer against the 36-item conformance checklist of the installer spec (conda-install.md):
// synthetic packages built in memory (make-package.ts) as .tar.bz2 and .conda, installed with
// installPackage into a fresh output root with prefix /env, placeholder P longer than /env.
// Items that another part decides are tested through that part: layer order and
// conda-meta/history and state through the install stage (src/stages/install.ts), virtual
// packages through the solve step with rattler's solver (src/build-step/solve.ts).
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPackage } from "../../../src/build-step/install/archive";
import { installPackage, runInstall } from "../../../src/build-step/install/install";
import { groupRequestVariable, type InstallGroupRequest, type InstallRequest } from "../../../src/conda/install-request";
import { dependencyConstraint, dependencyName } from "../../../src/conda/matchspec";
import { isStepReport, maxLinkedReport, type StepReport } from "../../../src/conda/prune/report";
import { legacyPlaceholder, readMetadata, splitHasPrefixLine } from "../../../src/build-step/install/metadata";
import { parseEntryPoint, pythonInfo } from "../../../src/build-step/install/noarch";
import { fixShebang, PrefixError, replaceBinary, replaceText } from "../../../src/build-step/install/prefix";
import { solvePlatform } from "../../../src/build-step/solve";
import { virtualPackages } from "../../../src/conda/virtual-packages";
import { parseBuildOptions } from "../../../src/gateway/options";
import { parseEnvironment } from "../../../src/input/environment";
import type { LockedPackage } from "../../../src/input/lock";
import { marshal } from "../../../src/llb";
import { planBuild } from "../../../src/plan/plan";
import { installStage } from "../../../src/stages/install";
import type { ToolImage } from "../../../src/plan/image-plan";
import { decodeOps, resultOp } from "../../llb/helpers";
import { type FileSpec, type Format, md5Of, type Member, type PackageSpec, sha256Of, stem, writePackage, type WrittenPackage } from "./make-package";

/** The build prefix the synthetic packages were "built" in: 59 bytes, much longer than /env. */
const P = "/opt/placeholder_placeholder_placeholder_placeholder_placeh";
const PREFIX = "/env";
const pad = P.length - PREFIX.length;
const NUL = "\0";

let base = "";
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "conda-install-conformance-"));
});
afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

/** A fresh directory under the test's temp root. */
function tmp(): string {
  return mkdtempSync(join(base, "t-"));
}

function pkg(name: string, files: FileSpec[], more: Partial<PackageSpec> = {}): PackageSpec {
  return { index: { name, version: "1.0", build: "h0_0" }, files, ...more };
}

function pythonPkg(sitePackagesPath?: string, version = "3.12.1", build = "h_0_cpython"): PackageSpec {
  return {
    index: { name: "python", version, build, ...(sitePackagesPath ? { python_site_packages_path: sitePackagesPath } : {}) },
    files: [{ path: `bin/python${version.split(".").slice(0, 2).join(".")}`, content: "#!/bin/sh\n", mode: 0o755 }],
  };
}

function noarchPkg(files: FileSpec[], entryPoints?: string[]): PackageSpec {
  return { index: { name: "mpkg", version: "1.0", build: "pyh_0", noarch: "python", subdir: "noarch" }, files, entryPoints };
}

interface InstallOptions {
  format?: Format;
  order?: Member[];
  prefix?: string;
  outRoot?: string;
  /** The python package of the environment, for noarch: python packages. */
  python?: PackageSpec;
  /** Override the hashes given to installPackage (default: the archive's real sha256 and md5). */
  hashes?: { sha256?: string; md5?: string };
}

interface Installed {
  outRoot: string;
  /** outRoot + prefix. */
  root: string;
  result: { scripts: string[]; files: number };
  written: WrittenPackage;
  /** The parsed conda-meta/<name>-<version>-<build>.json. */
  meta: Record<string, any>;
}

async function requestFor(spec: PackageSpec, o: InstallOptions = {}): Promise<{ req: InstallRequest; written: WrittenPackage }> {
  const dir = tmp();
  const written = await writePackage(dir, spec, o.format ?? "conda", o.order);
  const pythonArchive = o.python ? (await writePackage(dir, o.python, "conda")).path : undefined;
  const req: InstallRequest = {
    archive: written.path,
    url: written.url,
    filename: written.filename,
    ...(o.hashes ?? { sha256: written.sha256, md5: written.md5 }),
    prefix: o.prefix ?? PREFIX,
    outRoot: o.outRoot ?? join(tmp(), "out"),
    pythonArchive,
  };
  return { req, written };
}

async function install(spec: PackageSpec, o: InstallOptions = {}): Promise<Installed> {
  const { req, written } = await requestFor(spec, o);
  const result = await installPackage(req);
  const root = join(req.outRoot, req.prefix);
  const meta = JSON.parse(readFileSync(join(root, "conda-meta", `${stem(spec)}.json`), "utf8")) as Record<string, any>;
  return { outRoot: req.outRoot, root, result, written, meta };
}

const read = (root: string, rel: string) => readFileSync(join(root, rel));
const text = (root: string, rel: string) => readFileSync(join(root, rel), "utf8");
const modeOf = (root: string, rel: string) => statSync(join(root, rel)).mode & 0o7777;
const record = (meta: Record<string, any>, path: string) => (meta.paths_data.paths as Record<string, any>[]).find((p) => p._path === path);

/** Every path under `dir`: kind, mode, mtime and contents (or link text), sorted by path. */
function tree(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const full = join(dir, r);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link -> ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode} ${Math.floor(st.mtimeMs / 1000)}`;
        walk(r);
      } else out[r] = `file ${mode} ${Math.floor(st.mtimeMs / 1000)} nlink=${st.nlink} ${sha256Of(readFileSync(full))}`;
    }
  };
  walk("");
  return out;
}

/** Regular files and symlinks under dir (relative paths). */
function leafPaths(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  return Object.entries(tree(dir, skip))
    .filter(([, v]) => !v.startsWith("dir "))
    .map(([k]) => k)
    .sort();
}

/** A package exercising most of the installer: patched text and binary, modes, links, dirs. */
const richPackage = pkg("rich", [
  { path: "bin/tool", content: `#!${P}/bin/python3.12 -E\nprint('${P}')\n`, mode: 0o755, prefixPlaceholder: P },
  { path: "lib/libx.so.1", content: Buffer.from(`\x7fELF..${P}/lib${NUL}rest${NUL}`, "latin1"), mode: 0o755, prefixPlaceholder: P, fileMode: "binary" },
  { path: "lib/libx.so", linkTarget: "libx.so.1" },
  { path: "share/doc/deep/er/README", content: "readme\n" },
  { path: "share/private", content: "secret\n", mode: 0o700 },
  { path: "share/copied", content: "copy me\n", noLink: true },
  { path: "share/empty-dir", directory: true, pathType: "directory" },
  { path: "etc/abs-link", linkTarget: "/etc/hostname" },
]);

/** The frontend's image, as the install stage runs its steps from it (never pulled here). */
const stageTool: ToolImage = { ref: "localhost:5000/conda-frontend:test", digest: "sha256:" + "c".repeat(64), platform: { OS: "linux", Architecture: "amd64" }, entrypoint: ["node", "/cli.js"], env: [] };

/** A lock entry for a package written by writePackage, as the solve step would lock it. */
function lockedFrom(spec: PackageSpec, written: WrittenPackage): LockedPackage {
  const depends = (spec.index.depends as string[] | undefined) ?? [];
  return {
    name: spec.index.name,
    version: spec.index.version,
    build: spec.index.build,
    platform: "linux-64",
    manager: "conda",
    url: written.url,
    filename: written.filename,
    sha256: written.sha256,
    md5: written.md5,
    dependencies: Object.fromEntries(depends.map((d) => [dependencyName(d), dependencyConstraint(d)])),
    category: "main",
    optional: false,
  };
}

/**
 * The install stage's package layers for `specs` (locked in the order given), stacked as the
 * image stacks them: each layer's exec op's own install request, run in layer order into one
 * root, so a file of an upper layer replaces a lower one's. Returns the package names in layer
 * order (as the requests say) and the prefix.
 */
async function stackStage(specs: PackageSpec[]): Promise<{ order: string[]; root: string }> {
  const dir = tmp();
  const packages: LockedPackage[] = [];
  for (const spec of specs) packages.push(lockedFrom(spec, await writePackage(dir, spec)));
  const stage = installStage({ tool: stageTool, packages, prefix: PREFIX, requested: {}, variables: [], ignoreCache: false, compilePyc: false, privateChannels: [], network: "none" });
  const outRoot = join(tmp(), "out");
  const order: string[] = [];
  // The last layer is the environment's conda-meta/history (test 30).
  for (const layer of stage.layers.slice(0, -1)) {
    // The step's request: in the variable its args name (short requests).
    const def = marshal(layer);
    const step = resultOp(def).op;
    const variable = step.exec!.meta.env!.find((e) => e.startsWith(`${groupRequestVariable}=`))!;
    const group = JSON.parse(variable.slice(groupRequestVariable.length + 1)) as InstallGroupRequest;
    for (const req of group.packages) {
      order.push(req.name!);
      await installPackage({ ...req, archive: join(dir, req.filename), outRoot, report: undefined });
    }
  }
  expect(order).toEqual(stage.order);
  return { order, root: join(outRoot, PREFIX) };
}

/** The files the install stage's top layer (the environment's conda-meta records) makes: path -> text. */
function recordsLayerFiles(stage: ReturnType<typeof installStage>): Record<string, string> {
  const made: Record<string, string> = {};
  for (const { op } of decodeOps(marshal(stage.layers.at(-1)!))) {
    for (const a of op.file?.actions ?? []) if (a.mkfile) made[a.mkfile.path] = Buffer.from(a.mkfile.data ?? new Uint8Array()).toString("utf8");
  }
  return made;
}

/** Serves the packages' repodata (linux-64, and an empty noarch) on 127.0.0.1 while `use` runs. */
async function withChannel(packages: [PackageSpec, WrittenPackage][], use: (url: string) => Promise<void>): Promise<void> {
  const records: Record<string, object> = {};
  for (const [spec, written] of packages) {
    records[written.filename] = { ...spec.index, build_number: 0, depends: spec.index.depends ?? [], subdir: "linux-64", sha256: written.sha256, md5: written.md5, size: written.bytes.length };
  }
  const repodata: Record<string, string> = {
    "/linux-64/repodata.json": JSON.stringify({ info: { subdir: "linux-64" }, packages: {}, "packages.conda": records }),
    "/noarch/repodata.json": JSON.stringify({ info: { subdir: "noarch" }, packages: {} }),
  };
  const server = createServer((req, res) => {
    const body = repodata[req.url ?? ""];
    res.writeHead(body ? 200 : 404, { "content-type": "application/json" }).end(body ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("conformance checklist (prefix /env, placeholder P longer than /env)", () => {
  it("1. Same content as .tar.bz2 and as .conda (any member order) gives an identical tree; no info/", async () => {
    const orders: Member[][] = [
      ["metadata", "info", "pkg"],
      ["pkg", "info", "metadata"],
      ["info", "pkg", "metadata"],
    ];
    const installs = [await install(richPackage, { format: "tar.bz2" }), ...(await Promise.all(orders.map((order) => install(richPackage, { format: "conda", order }))))];
    const isRecord = (r: string) => r.startsWith("conda-meta/") && r.endsWith(".json");
    const trees = installs.map((i) => tree(i.root, isRecord));
    expect(Object.keys(trees[0]!)).toEqual(
      expect.arrayContaining(["bin/tool", "lib/libx.so.1", "lib/libx.so", "share/doc/deep/er/README", "share/private", "share/copied", "share/empty-dir", "etc/abs-link"]),
    );
    for (const t of trees.slice(1)) expect(t).toEqual(trees[0]);
    // The records differ only in what describes the download (fn, url, sha256, md5, size).
    for (const i of installs.slice(1)) {
      expect(i.meta.files).toEqual(installs[0]!.meta.files);
      expect(i.meta.paths_data).toEqual(installs[0]!.meta.paths_data);
    }
    for (const i of installs) {
      expect(existsSync(join(i.root, "info"))).toBe(false);
      expect(readdirSync(i.outRoot)).toEqual(["env"]);
      expect((i.meta.files as string[]).some((f) => f.startsWith("info/"))).toBe(false);
    }
    // The two formats really are different bytes for the same package.
    expect(installs[0]!.written.bytes.subarray(0, 3).toString("latin1")).toBe("BZh");
    expect(installs[1]!.written.bytes.readUInt32LE(0)).toBe(0x04034b50);
    // And the reader sees the same entries in either (info/ included, which linking leaves out).
    const names = async (b: Buffer) => (await readPackage(b)).map((e) => e.path).sort();
    expect(await names(installs[1]!.written.bytes)).toEqual(await names(installs[0]!.written.bytes));
  });

  it("1. (format detection) a .conda named .tar.bz2 and a .tar.bz2 named .conda install by their magic bytes", async () => {
    const spec = pkg("swapped", [{ path: "share/x", content: "x\n" }]);
    for (const format of ["conda", "tar.bz2"] as const) {
      const { req } = await requestFor(spec, { format });
      req.filename = format === "conda" ? "swapped-1.0-h0_0.tar.bz2" : "swapped-1.0-h0_0.conda";
      await installPackage(req);
      expect(text(join(req.outRoot, PREFIX), "share/x")).toBe("x\n");
    }
  });

  it("2. A file present in the archive but not in paths.json is not installed", async () => {
    const files: FileSpec[] = [{ path: "share/listed", content: "listed\n" }];
    const extra: FileSpec[] = [
      { path: "share/unlisted", content: "unlisted\n" },
      { path: "bin/unlisted-tool", content: "#!/bin/sh\n", mode: 0o755 },
    ];
    for (const pathsJson of [true, false]) {
      for (const format of ["conda", "tar.bz2"] as const) {
        const i = await install(pkg("extra", files, { extra, pathsJson }), { format });
        expect(text(i.root, "share/listed")).toBe("listed\n");
        expect(existsSync(join(i.root, "share/unlisted"))).toBe(false);
        expect(existsSync(join(i.root, "bin"))).toBe(false);
        expect(i.meta.files).toEqual(["share/listed"]);
      }
    }
  });

  it("3. Wrong sha256 fails with nothing linked; no sha256 + wrong md5 fails", async () => {
    const spec = pkg("verified", [{ path: "share/x", content: "x\n" }]);
    for (const format of ["conda", "tar.bz2"] as const) {
      const wrongSha = await requestFor(spec, { format, hashes: { sha256: "0".repeat(64) } });
      await expect(installPackage(wrongSha.req)).rejects.toThrow(/sha256 mismatch/);
      expect(existsSync(wrongSha.req.outRoot)).toBe(false);

      // A wrong sha256 fails even when the md5 is right.
      const written = wrongSha.written;
      const wrongShaRightMd5 = await requestFor(spec, { format, hashes: { sha256: "1".repeat(64), md5: written.md5 } });
      await expect(installPackage(wrongShaRightMd5.req)).rejects.toThrow(/sha256 mismatch/);
      expect(existsSync(wrongShaRightMd5.req.outRoot)).toBe(false);

      const wrongMd5 = await requestFor(spec, { format, hashes: { md5: "0".repeat(32) } });
      await expect(installPackage(wrongMd5.req)).rejects.toThrow(/md5 mismatch/);
      expect(existsSync(wrongMd5.req.outRoot)).toBe(false);

      const noHash = await requestFor(spec, { format, hashes: {} });
      await expect(installPackage(noHash.req)).rejects.toThrow(/no sha256 or md5/);
      expect(existsSync(noHash.req.outRoot)).toBe(false);
    }
    // Bytes that are not an archive at all still fail as a mismatch (it names the package and URL).
    const garbage = await requestFor(spec, { hashes: { sha256: "2".repeat(64) } });
    writeFileSync(garbage.req.archive, "<html>not found</html>");
    await expect(installPackage(garbage.req)).rejects.toThrow(new RegExp(`${garbage.req.filename} from .*: sha256 mismatch`));
    expect(existsSync(garbage.req.outRoot)).toBe(false);
    // The right md5 alone is enough when there is no sha256.
    const md5Only = await requestFor(spec, { hashes: {} });
    md5Only.req.md5 = md5Of(readFileSync(md5Only.req.archive));
    await installPackage(md5Only.req);
    expect(text(join(md5Only.req.outRoot, PREFIX), "share/x")).toBe("x\n");
  });

  it("4. Legacy has_prefix with a bare path: text-patched with /opt/anaconda1anaconda2anaconda3", async () => {
    expect(legacyPlaceholder).toBe("/opt/anaconda1anaconda2anaconda3");
    const L = legacyPlaceholder;
    const spec = pkg(
      "legacy",
      [
        { path: "bin/tool", content: `#!${L}/bin/python\nhome = "${L}/lib"\n`, mode: 0o755 },
        { path: "share/untouched", content: `mentions ${L} but is not listed\n` },
      ],
      { pathsJson: false, hasPrefix: "bin/tool\n" },
    );
    for (const format of ["conda", "tar.bz2"] as const) {
      const i = await install(spec, { format });
      expect(text(i.root, "bin/tool")).toBe(`#!/env/bin/python\nhome = "/env/lib"\n`);
      expect(text(i.root, "share/untouched")).toBe(`mentions ${L} but is not listed\n`);
      expect(modeOf(i.root, "bin/tool")).toBe(0o755);
      expect(record(i.meta, "bin/tool")).toMatchObject({ path_type: "hardlink", file_mode: "text", prefix_placeholder: L });
    }
    const meta = readMetadata(await readPackage((await writePackage(tmp(), spec)).bytes));
    expect(meta.paths.find((p) => p.path === "bin/tool")).toMatchObject({ prefixPlaceholder: L, fileMode: "text" });
  });

  it("5. Legacy has_prefix with a quoted placeholder and a path with spaces parses", async () => {
    expect(splitHasPrefixLine(`"${P}" text "share/my docs/read me.txt"`)).toEqual([P, "text", "share/my docs/read me.txt"]);
    expect(splitHasPrefixLine(`"/opt/a \\"quoted\\" place" binary "lib/x y.so"`)).toEqual(['/opt/a "quoted" place', "binary", "lib/x y.so"]);
    expect(splitHasPrefixLine(`${P} text share/plain.txt`)).toEqual([P, "text", "share/plain.txt"]);
    expect(splitHasPrefixLine(`"share/only a path.txt"`)).toEqual(["share/only a path.txt"]);

    const spec = pkg(
      "legacyq",
      [
        { path: "share/my docs/read me.txt", content: `root=${P}\n` },
        { path: "lib/lib y.so", content: `A${P}/lib${NUL}B` },
        { path: "share/plain.txt", content: `at ${P}/share\n` },
      ],
      {
        pathsJson: false,
        hasPrefix: `"${P}" text "share/my docs/read me.txt"\r\n"${P}" binary "lib/lib y.so"\n${P} text share/plain.txt\n`,
      },
    );
    for (const format of ["conda", "tar.bz2"] as const) {
      const i = await install(spec, { format });
      expect(text(i.root, "share/my docs/read me.txt")).toBe("root=/env\n");
      expect(read(i.root, "lib/lib y.so")).toEqual(Buffer.from(`A/env/lib${NUL.repeat(pad)}${NUL}B`));
      expect(text(i.root, "share/plain.txt")).toBe("at /env/share\n");
      expect(record(i.meta, "lib/lib y.so")).toMatchObject({ file_mode: "binary", prefix_placeholder: P });
    }
  });

  it("6. Text `x=P/lib y=P z=aP` -> `x=/env/lib y=/env z=a/env`", async () => {
    const i = await install(pkg("text", [{ path: "etc/conf", content: `x=${P}/lib y=${P} z=a${P}`, prefixPlaceholder: P }]));
    expect(text(i.root, "etc/conf")).toBe("x=/env/lib y=/env z=a/env");
    expect(replaceText(Buffer.from(`x=${P}/lib y=${P} z=a${P}`), P, PREFIX).toString()).toBe("x=/env/lib y=/env z=a/env");
  });

  it("7. A text file containing P but with no prefix_placeholder stays byte-identical", async () => {
    const content = Buffer.from(`#!${P}/bin/python\nx=${P}/lib\n${NUL}${P}${NUL}`);
    const i = await install(pkg("noph", [{ path: "share/mentions", content }]));
    expect(read(i.root, "share/mentions")).toEqual(content);
    const r = record(i.meta, "share/mentions");
    expect(r?.sha256).toBe(sha256Of(content));
    // conda records the hash in the prefix for every file; unpatched, it is the archive's.
    expect(r?.sha256_in_prefix).toBe(sha256Of(content));
    expect(r).not.toHaveProperty("prefix_placeholder");
  });

  it("8. `#!P/bin/python3.12 -E` -> `#!/env/bin/python3.12 -E`", async () => {
    const i = await install(pkg("shebang", [{ path: "bin/s", content: `#!${P}/bin/python3.12 -E\nimport sys\n`, mode: 0o755, prefixPlaceholder: P }]));
    expect(text(i.root, "bin/s")).toBe("#!/env/bin/python3.12 -E\nimport sys\n");
  });

  it("9. A patched 127-byte shebang is kept; a 128-byte one becomes `#!/usr/bin/env tool <args>`", async () => {
    // `#!/env/<dirs>/bin/tool --flag` after patching, padded with directory names to the length wanted.
    const shebang = (len: number) => {
      const fixed = `#!${PREFIX}//bin/tool --flag`.length;
      const dirs = "d".repeat(len - fixed);
      return { source: `#!${P}/${dirs}/bin/tool --flag\nbody ${P}\n`, patchedLine: `#!${PREFIX}/${dirs}/bin/tool --flag` };
    };
    const kept = shebang(127);
    const long = shebang(128);
    expect(Buffer.byteLength(kept.patchedLine)).toBe(127);
    expect(Buffer.byteLength(long.patchedLine)).toBe(128);
    const i = await install(
      pkg("shebangs", [
        { path: "bin/kept", content: kept.source, mode: 0o755, prefixPlaceholder: P },
        { path: "bin/long", content: long.source, mode: 0o755, prefixPlaceholder: P },
      ]),
    );
    expect(text(i.root, "bin/kept")).toBe(`${kept.patchedLine}\nbody /env\n`);
    expect(text(i.root, "bin/long")).toBe("#!/usr/bin/env tool --flag\nbody /env\n");
  });

  it("10. A `#!` file with P and no trailing newline is patched without a crash", async () => {
    const longDirs = "x".repeat(130);
    const i = await install(
      pkg("nonl", [
        { path: "bin/short", content: `#!${P}/bin/python`, mode: 0o755, prefixPlaceholder: P },
        { path: "bin/long", content: `#!${P}/${longDirs}/bin/python -u`, mode: 0o755, prefixPlaceholder: P },
        { path: "bin/bang", content: `#!`, mode: 0o755, prefixPlaceholder: P },
      ]),
    );
    expect(text(i.root, "bin/short")).toBe("#!/env/bin/python");
    expect(text(i.root, "bin/long")).toBe("#!/usr/bin/env python -u");
    expect(text(i.root, "bin/bang")).toBe("#!");
    expect(fixShebang(Buffer.from("#!"))).toEqual(Buffer.from("#!"));
  });

  it("11. Modes: patched 0755 stays 0755, unpatched 0644 stays 0644, 0700 stays 0700", async () => {
    const spec = pkg("modes", [
      { path: "bin/patched", content: `#!${P}/bin/sh\n`, mode: 0o755, prefixPlaceholder: P },
      { path: "share/plain", content: "plain\n", mode: 0o644 },
      { path: "bin/private", content: "#!/bin/sh\n", mode: 0o700 },
      { path: "lib/patched-binary", content: `${P}${NUL}`, mode: 0o700, prefixPlaceholder: P, fileMode: "binary" },
      { path: "share/readonly", content: "ro\n", mode: 0o444 },
    ]);
    for (const format of ["conda", "tar.bz2"] as const) {
      const i = await install(spec, { format });
      expect(modeOf(i.root, "bin/patched")).toBe(0o755);
      expect(modeOf(i.root, "share/plain")).toBe(0o644);
      expect(modeOf(i.root, "bin/private")).toBe(0o700);
      expect(modeOf(i.root, "lib/patched-binary")).toBe(0o700);
      expect(modeOf(i.root, "share/readonly")).toBe(0o444);
    }
  });

  it("12. Binary `AP/lib\\0B` -> `A/env/lib` + (len(P)-4) NULs + `\\0B`; length unchanged", async () => {
    const content = Buffer.from(`A${P}/lib${NUL}B`);
    const i = await install(pkg("bin12", [{ path: "lib/libb.so", content, prefixPlaceholder: P, fileMode: "binary" }]));
    const out = read(i.root, "lib/libb.so");
    expect(out).toEqual(Buffer.from(`A/env/lib${NUL.repeat(P.length - 4)}${NUL}B`));
    expect(out.length).toBe(content.length);
  });

  it("13. Binary `P/a:P/b\\0` -> both replaced, then 2*(len(P)-4) NULs", async () => {
    const content = Buffer.from(`${P}/a:${P}/b${NUL}tail${NUL}${P}/c${NUL}`);
    const i = await install(pkg("bin13", [{ path: "lib/librpath.so", content, prefixPlaceholder: P, fileMode: "binary" }]));
    const out = read(i.root, "lib/librpath.so");
    expect(out).toEqual(Buffer.from(`/env/a:/env/b${NUL.repeat(2 * (P.length - 4))}${NUL}tail${NUL}/env/c${NUL.repeat(P.length - 4)}${NUL}`));
    expect(out.length).toBe(content.length);
  });

  it("14. Binary entry whose placeholder is shorter than the target prefix: error naming the file", async () => {
    const short = "/p";
    const spec = pkg("bin14", [{ path: "lib/libshort.so", content: `X${short}/lib${NUL}Y`, prefixPlaceholder: short, fileMode: "binary" }]);
    const { req } = await requestFor(spec);
    await expect(installPackage(req)).rejects.toThrow(/lib\/libshort\.so.*longer than the package's binary placeholder/);
    expect(() => replaceBinary(Buffer.from(`X${short}/lib${NUL}`), short, PREFIX, "lib/libshort.so")).toThrow(PrefixError);
    // The same in text mode is fine: text files may grow.
    const i = await install(pkg("text14", [{ path: "share/t", content: `X${short}/lib`, prefixPlaceholder: short }]));
    expect(text(i.root, "share/t")).toBe("X/env/lib");
  });

  it("15. Binary placeholder at end of file with no NUL: replaced as a string ending at EOF, NUL-padded, length unchanged", async () => {
    const content = Buffer.from(`XYZ${NUL}${P}/lib`);
    const i = await install(pkg("bin15", [{ path: "lib/libend.so", content, prefixPlaceholder: P, fileMode: "binary" }]));
    const out = read(i.root, "lib/libend.so");
    expect(out).toEqual(Buffer.from(`XYZ${NUL}/env/lib${NUL.repeat(pad)}`));
    expect(out.length).toBe(content.length);
  });

  it("16. conda-meta sha256_in_prefix is the hash of the file in the prefix: patched files' differs from sha256, plain files' equals it", async () => {
    const textContent = `prefix=${P}\n`;
    const binContent = `A${P}${NUL}`;
    const i = await install(
      pkg("hashes", [
        { path: "etc/patched", content: textContent, prefixPlaceholder: P },
        { path: "lib/patched.so", content: binContent, prefixPlaceholder: P, fileMode: "binary" },
        { path: "etc/plain", content: "plain\n" },
      ]),
    );
    for (const [path, source] of [
      ["etc/patched", textContent],
      ["lib/patched.so", binContent],
    ] as const) {
      const r = record(i.meta, path)!;
      expect(r.sha256).toBe(sha256Of(Buffer.from(source)));
      expect(r.sha256_in_prefix).toBe(sha256Of(read(i.root, path)));
      expect(r.sha256_in_prefix).not.toBe(r.sha256);
      expect(r.prefix_placeholder).toBe(P);
      expect(r.size_in_bytes).toBe(Buffer.byteLength(source));
    }
    expect(record(i.meta, "etc/patched")!.file_mode).toBe("text");
    expect(record(i.meta, "lib/patched.so")!.file_mode).toBe("binary");
    expect(record(i.meta, "etc/plain")!.sha256_in_prefix).toBe(sha256Of(Buffer.from("plain\n")));
    expect(record(i.meta, "etc/plain")!.sha256_in_prefix).toBe(record(i.meta, "etc/plain")!.sha256);
  });

  it("17. Softlink `lib/libx.so -> libx.so.1` re-created with the same link text", async () => {
    const spec = pkg("links", [
      { path: "lib/libx.so.1", content: "elf\n", mode: 0o755 },
      { path: "lib/libx.so", linkTarget: "libx.so.1" },
      { path: "lib/sub/up", linkTarget: "../libx.so.1" },
    ]);
    for (const pathsJson of [true, false]) {
      for (const format of ["conda", "tar.bz2"] as const) {
        const i = await install({ ...spec, pathsJson }, { format });
        expect(lstatSync(join(i.root, "lib/libx.so")).isSymbolicLink()).toBe(true);
        expect(readlinkSync(join(i.root, "lib/libx.so"))).toBe("libx.so.1");
        expect(readlinkSync(join(i.root, "lib/sub/up"))).toBe("../libx.so.1");
        expect(text(i.root, "lib/libx.so")).toBe("elf\n");
        expect(record(i.meta, "lib/libx.so")?.path_type).toBe("softlink");
      }
    }
  });

  it("18. Softlink with an absolute target outside the prefix is kept as a symlink (not followed)", async () => {
    const outside = join(tmp(), "outside-target");
    const i = await install(
      pkg("abslink", [
        { path: "etc/abs", linkTarget: "/etc/hostname" },
        { path: "etc/dangling", linkTarget: outside },
      ]),
    );
    expect(lstatSync(join(i.root, "etc/abs")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(i.root, "etc/abs"))).toBe("/etc/hostname");
    expect(lstatSync(join(i.root, "etc/dangling")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(i.root, "etc/dangling"))).toBe(outside);
    expect(existsSync(outside)).toBe(false);
  });

  it("19. `no_link` file is a regular file with one link", async () => {
    for (const pathsJson of [true, false]) {
      const i = await install(pkg("nolink", [{ path: "share/nl", content: "no link\n", noLink: true }, { path: "share/other", content: "other\n" }], { pathsJson }));
      const st = lstatSync(join(i.root, "share/nl"));
      expect(st.isFile()).toBe(true);
      expect(st.nlink).toBe(1);
      expect(text(i.root, "share/nl")).toBe("no link\n");
      expect(lstatSync(join(i.root, "share/other")).nlink).toBe(1);
    }
  });

  it("20. Deep directories are created; an existing destination file is replaced", async () => {
    const deep = "a/b/c/d/e/f/g/h/i/j/deep.txt";
    const outRoot = join(tmp(), "out");
    const first = await install(pkg("first", [{ path: deep, content: "deep\n" }, { path: "etc/x", content: "from first\n", mode: 0o600 }]), { outRoot });
    expect(text(first.root, deep)).toBe("deep\n");
    expect(statSync(join(first.root, "a/b/c/d/e/f/g/h/i/j")).isDirectory()).toBe(true);
    await install(pkg("second", [{ path: "etc/x", content: "from second, longer\n", mode: 0o644 }]), { outRoot });
    expect(text(first.root, "etc/x")).toBe("from second, longer\n");
    expect(modeOf(first.root, "etc/x")).toBe(0o644);
    expect(text(first.root, deep)).toBe("deep\n");

    // An existing destination that is a symlink is removed, never written through.
    const sibling = join(tmp(), "sibling");
    mkdirSync(sibling);
    const target = join(sibling, "target");
    const outRoot2 = join(tmp(), "out");
    await install(pkg("linker", [{ path: "etc/y", linkTarget: target }]), { outRoot: outRoot2 });
    const second = await install(pkg("writer", [{ path: "etc/y", content: "regular\n" }]), { outRoot: outRoot2 });
    expect(lstatSync(join(second.root, "etc/y")).isFile()).toBe(true);
    expect(text(second.root, "etc/y")).toBe("regular\n");
    expect(readdirSync(sibling)).toEqual([]);
  });

  it("21. noarch python with python 3.12: `site-packages/m/__init__.py` -> `lib/python3.12/site-packages/m/__init__.py`", async () => {
    const i = await install(noarchPkg([{ path: "site-packages/m/__init__.py", content: "X = 1\n" }]), { python: pythonPkg() });
    expect(text(i.root, "lib/python3.12/site-packages/m/__init__.py")).toBe("X = 1\n");
    expect(existsSync(join(i.root, "site-packages"))).toBe(false);
    expect(i.meta.files).toEqual(["lib/python3.12/site-packages/m/__init__.py"]);
    expect(pythonInfo("3.12.1", "h_0_cpython")).toEqual({ version: "3.12", sitePackages: "lib/python3.12/site-packages", interpreter: "bin/python3.12" });
  });

  it("22. `python_site_packages_path: lib/python3.13t/site-packages` on the python record is used verbatim", async () => {
    const files = [{ path: "site-packages/m/__init__.py", content: "X = 1\n" }];
    // A build string without cp313t: a computed path would be lib/python3.13/site-packages.
    const i = await install(noarchPkg(files), { python: pythonPkg("lib/python3.13t/site-packages", "3.13.0", "h_0_cpython") });
    expect(text(i.root, "lib/python3.13t/site-packages/m/__init__.py")).toBe("X = 1\n");
    expect(existsSync(join(i.root, "lib/python3.13"))).toBe(false);
    // Any value, verbatim.
    const j = await install(noarchPkg(files), { python: pythonPkg("lib/custom-site", "3.12.1") });
    expect(text(j.root, "lib/custom-site/m/__init__.py")).toBe("X = 1\n");
    // Without the field, a free-threaded build gets lib/python3.13t by its build string.
    const k = await install(noarchPkg(files), { python: pythonPkg(undefined, "3.13.0", "h_0_cp313t") });
    expect(text(k.root, "lib/python3.13t/site-packages/m/__init__.py")).toBe("X = 1\n");
  });

  it("23. `python-scripts/t` -> `bin/t`; `share/x` unchanged", async () => {
    const i = await install(
      noarchPkg([
        { path: "python-scripts/t", content: "#!/usr/bin/env python\nprint('t')\n", mode: 0o755 },
        { path: "share/x", content: "x\n" },
      ]),
      { python: pythonPkg() },
    );
    expect(text(i.root, "bin/t")).toBe("#!/usr/bin/env python\nprint('t')\n");
    expect(modeOf(i.root, "bin/t")).toBe(0o755);
    expect(text(i.root, "share/x")).toBe("x\n");
    expect(existsSync(join(i.root, "python-scripts"))).toBe(false);
    expect([...(i.meta.files as string[])].sort()).toEqual(["bin/t", "share/x"]);
  });

  it("24. Entry point `tool = m.cli:main` -> `bin/tool`, mode 0755 (as conda writes it), first line `#!/env/bin/python3.12`, runs `main`", async () => {
    const i = await install(
      noarchPkg(
        [
          { path: "site-packages/m/__init__.py", content: "" },
          { path: "site-packages/m/cli.py", content: "import sys\n\ndef main():\n    print('main called as', sys.argv[0], sys.argv[1:])\n    return 3\n" },
        ],
        ["tool = m.cli:main"],
      ),
      { python: pythonPkg() },
    );
    const script = text(i.root, "bin/tool");
    expect(script.split("\n")[0]).toBe("#!/env/bin/python3.12");
    expect(modeOf(i.root, "bin/tool")).toBe(0o755);
    expect(script).toContain("from m.cli import main\n");
    expect(script).toContain("sys.exit(main())");
    expect(i.meta.files).toContain("bin/tool");
    expect(record(i.meta, "bin/tool")).toMatchObject({ sha256: sha256Of(read(i.root, "bin/tool")), size_in_bytes: read(i.root, "bin/tool").length });

    // /env/bin/python3.12 does not exist here: run the script with this machine's python3.
    const sitePackages = join(i.root, "lib/python3.12/site-packages");
    const run = spawnSync("python3", [join(i.root, "bin/tool"), "arg1"], { env: { ...process.env, PYTHONPATH: sitePackages }, encoding: "utf8" });
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`main called as ${join(i.root, "bin/tool")} ['arg1']\n`);
    expect(run.status).toBe(3);
  });

  it("25. Entry point `m.cli:App.run` -> `from m.cli import App`, `sys.exit(App.run())`", async () => {
    const i = await install(
      noarchPkg(
        [
          { path: "site-packages/m/__init__.py", content: "" },
          { path: "site-packages/m/cli.py", content: "class App:\n    @staticmethod\n    def run():\n        print('App.run called')\n        return 0\n" },
        ],
        ["app = m.cli:App.run"],
      ),
      { python: pythonPkg() },
    );
    const script = text(i.root, "bin/app");
    expect(script).toContain("from m.cli import App\n");
    expect(script).toContain("sys.exit(App.run())");
    expect(parseEntryPoint("app = m.cli:App.run")).toEqual({ command: "app", module: "m.cli", func: "App.run" });
    const run = spawnSync("python3", [join(i.root, "bin/app")], { env: { ...process.env, PYTHONPATH: join(i.root, "lib/python3.12/site-packages") }, encoding: "utf8" });
    expect(run.stdout).toBe("App.run called\n");
    expect(run.status).toBe(0);
  });

  it("26. Entry point command `../x` or module `os;x` is rejected", async () => {
    expect(() => parseEntryPoint("../x = m:f")).toThrow(/command/);
    expect(() => parseEntryPoint("x = os;x:f")).toThrow(/module/);
    expect(() => parseEntryPoint(".hidden = m:f")).toThrow(/command/);
    expect(() => parseEntryPoint("a\\b = m:f")).toThrow(/command/);
    expect(() => parseEntryPoint("x = m:f;g")).toThrow(/function/);
    expect(() => parseEntryPoint("x = m:f()")).toThrow(/function/);
    for (const bad of ["../x = m:f", "x = os;x:f"]) {
      const { req } = await requestFor(noarchPkg([{ path: "site-packages/m/__init__.py", content: "" }], [bad]), { python: pythonPkg() });
      await expect(installPackage(req)).rejects.toThrow(/invalid entry point/);
      expect(existsSync(join(req.outRoot, "x"))).toBe(false);
      expect(existsSync(join(req.outRoot, PREFIX, "x"))).toBe(false);
    }
  });

  it("27. noarch python package with no python record: error", async () => {
    const { req } = await requestFor(noarchPkg([{ path: "site-packages/m/__init__.py", content: "" }]));
    expect(req.pythonArchive).toBeUndefined();
    await expect(installPackage(req)).rejects.toThrow(/noarch: python package, but the environment has no python/);
    expect(existsSync(join(req.outRoot, PREFIX, "lib"))).toBe(false);
    expect(existsSync(join(req.outRoot, PREFIX, "site-packages"))).toBe(false);
  });

  it("28. Without a python to run (compilePycWith unset: image.compile-pyc off, or no python layer) the installer writes no .pyc and no __pycache__", async () => {
    // .pyc compilation is implemented (image.compile-pyc, on by default): the install stage sets
    // compilePycWith to python's layer; the next test runs it. Here the request has the python
    // record (for the noarch mapping) but nothing to compile with.
    const { req } = await requestFor(
      noarchPkg(
        [
          { path: "site-packages/m/__init__.py", content: "" },
          { path: "site-packages/m/cli.py", content: "def main():\n    return 0\n" },
        ],
        ["tool = m.cli:main"],
      ),
      { python: pythonPkg() },
    );
    expect(req.compilePycWith).toBeUndefined();
    await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    const meta = JSON.parse(readFileSync(join(root, "conda-meta", "mpkg-1.0-pyh_0.json"), "utf8")) as Record<string, any>;
    const all = Object.keys(tree(root));
    expect(all).toContain("lib/python3.12/site-packages/m/cli.py");
    expect(all.filter((p) => p.includes("__pycache__") || p.endsWith(".pyc"))).toEqual([]);
    expect((meta.files as string[]).filter((p) => p.endsWith(".pyc"))).toEqual([]);
  });

  it("28. (compilePycWith set) the package's .py files are byte-compiled by the python found there: unchecked-hash .pyc naming the source at the prefix, recorded as pyc_file", async () => {
    // The environment's python is this machine's python3, behind a wrapper at the place the
    // install stage mounts python's layer (<compilePycWith>/<prefix>/bin/pythonX.Y); the python
    // record has its version, so the .pyc names match (cpython-XY).
    const probe = spawnSync("python3", ["-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8" });
    expect(probe.status, probe.stderr).toBe(0);
    const [exe, version] = probe.stdout.trim().split("\n") as [string, string];
    const xy = version.split(".").slice(0, 2).join(".");
    const pyenv = tmp();
    mkdirSync(join(pyenv, PREFIX, "bin"), { recursive: true });
    // The installer runs python with PYTHONHOME and LD_LIBRARY_PATH at the python layer; the
    // machine's python has its standard library elsewhere.
    writeFileSync(join(pyenv, PREFIX, "bin", `python${xy}`), `#!/bin/sh\nunset PYTHONHOME LD_LIBRARY_PATH\nexec ${exe} "$@"\n`, { mode: 0o755 });
    const { req } = await requestFor(
      noarchPkg([
        { path: "site-packages/m/__init__.py", content: "" },
        { path: "site-packages/m/cli.py", content: "def main():\n    return 0\n" },
        { path: "site-packages/m/broken.py", content: "def (:\n" },
      ]),
      { python: pythonPkg(undefined, version, "h_0_cpython") },
    );
    req.compilePycWith = pyenv;
    req.epoch = 1_234_567_890;
    await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    const site = `lib/python${xy}/site-packages`;
    const tag = `cpython-${xy.replace(".", "")}`;
    const meta = JSON.parse(readFileSync(join(root, "conda-meta", "mpkg-1.0-pyh_0.json"), "utf8")) as Record<string, any>;
    const pycs = [`${site}/m/__pycache__/__init__.${tag}.pyc`, `${site}/m/__pycache__/cli.${tag}.pyc`];
    // The file that does not compile is skipped, as conda does; the others are compiled.
    expect(leafPaths(root, (r) => r.startsWith("conda-meta")).filter((p) => p.endsWith(".pyc"))).toEqual(pycs);
    expect((meta.files as string[]).filter((p) => p.endsWith(".pyc")).sort()).toEqual(pycs);
    for (const pyc of pycs) {
      expect(record(meta, pyc)).toEqual({ _path: pyc, path_type: "pyc_file" });
      expect(Math.floor(statSync(join(root, pyc)).mtimeMs / 1000)).toBe(req.epoch);
    }
    // PEP 552 flags 0b01: hash-based, not checked against the source (valid whatever the file times).
    const cli = read(root, pycs[1]!);
    expect(cli.readUInt32LE(4)).toBe(1);
    // The code object names its source where it will be in the image, not in the step's folder.
    const loaded = spawnSync("python3", ["-c", "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)", join(root, pycs[1]!)], { encoding: "utf8" });
    expect(loaded.stdout.trim()).toBe(`${PREFIX}/${site}/m/cli.py`);
  });

  it("28. (compilePycWith a build-machine python's tree) a source byte-identical to one there takes that tree's .pyc as it is; a different one is compiled", async () => {
    const probe = spawnSync("python3", ["-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8" });
    const [exe, version] = probe.stdout.trim().split("\n") as [string, string];
    const xy = version.split(".").slice(0, 2).join(".");
    const tag = `cpython-${xy.replace(".", "")}`;
    const site = `lib/python${xy}/site-packages`;
    const pyenv = tmp();
    mkdirSync(join(pyenv, PREFIX, "bin"), { recursive: true });
    writeFileSync(join(pyenv, PREFIX, "bin", `python${xy}`), `#!/bin/sh\nunset PYTHONHOME LD_LIBRARY_PATH\nexec ${exe} "$@"\n`, { mode: 0o755 });
    // The compiler's tree has m/same.py (identical source) with a .pyc of its own, and m/other.py with different bytes.
    mkdirSync(join(pyenv, PREFIX, site, "m", "__pycache__"), { recursive: true });
    writeFileSync(join(pyenv, PREFIX, site, "m", "same.py"), "X = 1\n");
    writeFileSync(join(pyenv, PREFIX, site, "m", "__pycache__", `same.${tag}.pyc`), "the compiler's own .pyc");
    writeFileSync(join(pyenv, PREFIX, site, "m", "other.py"), "Y = 1\n");
    writeFileSync(join(pyenv, PREFIX, site, "m", "__pycache__", `other.${tag}.pyc`), "not for a different source");
    const { req } = await requestFor(
      noarchPkg([
        { path: "site-packages/m/same.py", content: "X = 1\n" },
        { path: "site-packages/m/other.py", content: "Y = 2\n" },
      ]),
      { python: pythonPkg(undefined, version, "h_0_cpython") },
    );
    req.compilePycWith = pyenv;
    await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    expect(readFileSync(join(root, site, "m", "__pycache__", `same.${tag}.pyc`), "utf8")).toBe("the compiler's own .pyc");
    const other = read(root, `${site}/m/__pycache__/other.${tag}.pyc`);
    expect(other.readUInt32LE(4)).toBe(1); // compiled here: a hash-based .pyc
    const meta = JSON.parse(readFileSync(join(root, "conda-meta", "mpkg-1.0-pyh_0.json"), "utf8")) as Record<string, any>;
    expect((meta.files as string[]).filter((p) => p.endsWith(".pyc")).sort()).toEqual([`${site}/m/__pycache__/other.${tag}.pyc`, `${site}/m/__pycache__/same.${tag}.pyc`]);
  });

  it("29. conda-meta JSON has name, version, build, fn, url, channel, sha256, md5, depends, files (= installed paths), paths_data.paths_version == 1, link", async () => {
    const spec: PackageSpec = {
      index: { name: "recorded", version: "2.5.1", build: "h1234_3", build_number: 3, depends: ["libfoo >=1.2", "python >=3.9"], license: "MIT" },
      files: [
        { path: "bin/r", content: `#!${P}/bin/sh\n`, mode: 0o755, prefixPlaceholder: P },
        { path: "lib/libr.so.1", content: "elf" },
        { path: "lib/libr.so", linkTarget: "libr.so.1", linkSha256: sha256Of(Buffer.from("elf")), linkSize: 3 },
        { path: "share/r/empty", directory: true },
      ],
    };
    const i = await install(spec);
    const m = i.meta;
    expect(m).toMatchObject({
      name: "recorded",
      version: "2.5.1",
      build: "h1234_3",
      build_number: 3,
      fn: "recorded-2.5.1-h1234_3.conda",
      url: "https://conda.example.org/test-channel/linux-64/recorded-2.5.1-h1234_3.conda",
      channel: "https://conda.example.org/test-channel/linux-64",
      sha256: i.written.sha256,
      md5: i.written.md5,
      depends: ["libfoo >=1.2", "python >=3.9"],
      license: "MIT",
    });
    expect(m.link).toBeDefined();
    expect(m.paths_data.paths_version).toBe(1);
    const installed = leafPaths(i.root, (r) => r.startsWith("conda-meta"));
    expect([...(m.files as string[])].sort()).toEqual(installed);
    expect((m.paths_data.paths as { _path: string }[]).map((p) => p._path).sort()).toEqual(installed);
    expect(record(m, "lib/libr.so.1")).toEqual({ _path: "lib/libr.so.1", path_type: "hardlink", sha256: sha256Of(Buffer.from("elf")), size_in_bytes: 3, sha256_in_prefix: sha256Of(Buffer.from("elf")) });
    // A softlink's entry is paths.json's, as conda copies it (with its sha256 and size when paths.json has them).
    expect(record(m, "lib/libr.so")).toEqual({ _path: "lib/libr.so", path_type: "softlink", sha256: sha256Of(Buffer.from("elf")), size_in_bytes: 3 });
    expect(statSync(join(i.root, "share/r/empty")).isDirectory()).toBe(true);
  });

  it("30. conda-meta/history exists: written once, by the install stage's layer above the packages'; installPackage makes conda-meta/ and leaves history to it", async () => {
    // The stage's records layer: one history for the environment, as conda writes a transaction.
    const packages = [lockedFrom(pkg("hist", []), { url: "https://conda.example.org/test-channel/linux-64/hist-1.0-h0_0.conda", filename: "hist-1.0-h0_0.conda", sha256: "0".repeat(64), md5: "0".repeat(32) } as WrittenPackage)];
    const stage = installStage({ tool: stageTool, packages, prefix: PREFIX, requested: { hist: "hist" }, variables: [], sourceDateEpoch: 7, ignoreCache: false, compilePyc: false, privateChannels: [], network: "none" });
    expect(stage.layers).toHaveLength(2);
    expect(recordsLayerFiles(stage)).toEqual({
      "/env/conda-meta/history": "==> 1970-01-01 00:00:07 <==\n# cmd: conda-frontend install\n# conda version: conda-frontend\n+https://conda.example.org/test-channel/linux-64::hist-1.0-h0_0\n# update specs: ['hist']\n",
    });
    // The package's own step: the folder exists and holds only the package's record.
    const i = await install(pkg("hist", [{ path: "share/h", content: "h\n" }]));
    expect(statSync(join(i.root, "conda-meta")).isDirectory()).toBe(true);
    expect(readdirSync(join(i.root, "conda-meta"))).toEqual(["hist-1.0-h0_0.json"]);
    expect(modeOf(i.root, "conda-meta/hist-1.0-h0_0.json")).toBe(0o644);
  });

  it("31. A depends on B, both ship `etc/x`: A's bytes win (the install stage stacks B's layer below A's)", async () => {
    // Where two packages ship the same file, the layer order of the install stage decides (each
    // package is installed into a layer of its own). Its layers are run here as they are: each
    // layer's own install request, in the stage's order, into one root (an upper layer's file
    // replaces a lower one's, as in the image). Listed and named so that by-name order would put
    // A first: only the dependency can put it last.
    const b = pkg("b", [{ path: "etc/x", content: "from B (the dependency)\n" }]);
    const a = pkg("a", [{ path: "etc/x", content: "from A\n" }], { index: { name: "a", version: "1.0", build: "h0_0", depends: ["b >=1"] } });
    const { order, root } = await stackStage([a, b]);
    expect(order).toEqual(["b", "a"]);
    expect(text(root, "etc/x")).toBe("from A\n");
    expect(readdirSync(join(root, "conda-meta")).sort()).toEqual(["a-1.0-h0_0.json", "b-1.0-h0_0.json"]);
  });

  it("32. Unrelated A and B both ship `etc/x`: the same winner for any input order (the install stage orders them by name)", async () => {
    const a = pkg("a", [{ path: "etc/x", content: "from A\n" }]);
    const b = pkg("b", [{ path: "etc/x", content: "from B\n" }]);
    const c = pkg("c", [{ path: "etc/y", content: "from C\n" }], { index: { name: "c", version: "1.0", build: "h0_0", depends: ["a"] } });
    const winners = new Set<string>();
    const orders = new Set<string>();
    for (const packages of [[a, b, c], [b, a, c], [c, b, a], [c, a, b]]) {
      const { order, root } = await stackStage(packages);
      orders.add(order.join(" "));
      winners.add(text(root, "etc/x"));
    }
    expect([...orders]).toEqual(["a b c"]);
    expect([...winners]).toEqual(["from B\n"]);
  });

  it("33. `bin/.p-post-link.sh` is installed as a file and reported; nothing runs it", async () => {
    const marker = join(tmp(), "ran");
    const i = await install(
      pkg("p", [
        { path: "bin/.p-post-link.sh", content: `#!/bin/sh\ntouch ${marker}\n`, mode: 0o755 },
        { path: "bin/.p-pre-unlink.sh", content: `#!/bin/sh\ntouch ${marker}\n`, mode: 0o755 },
        { path: "bin/p", content: "#!/bin/sh\n", mode: 0o755 },
      ]),
    );
    expect(lstatSync(join(i.root, "bin/.p-post-link.sh")).isFile()).toBe(true);
    expect(text(i.root, "bin/.p-post-link.sh")).toBe(`#!/bin/sh\ntouch ${marker}\n`);
    expect(modeOf(i.root, "bin/.p-post-link.sh")).toBe(0o755);
    expect(i.result.scripts.sort()).toEqual(["bin/.p-post-link.sh", "bin/.p-pre-unlink.sh"]);
    expect(i.result.files).toBe(3);
    expect(existsSync(marker)).toBe(false);
  });

  it("34. A `__glibc` record the solver returns is not in the lock, so the installer is never asked for it (the real solver, on a channel served here)", async () => {
    // Virtual packages reach rattler's solver through a synthetic channel and come back in its
    // answer; solvePlatform drops them before the lock is written. installPackage has no notion
    // of them (a virtual package has no archive): every locked package installs.
    const dir = tmp();
    const foo = pkg("foo", [{ path: "share/foo", content: "foo\n" }], { index: { name: "foo", version: "1.0", build: "h0_0", depends: ["__glibc >=2.17"] } });
    const written = await writePackage(dir, foo);
    const tooNew = { ...foo, index: { ...foo.index, name: "needs-new-glibc", depends: ["__glibc >=2.99"] } };
    const writtenTooNew = await writePackage(dir, tooNew);
    await withChannel([[foo, written], [tooNew, writtenTooNew]], async (channel) => {
      const rattler = (await import("@conda-org/rattler")) as unknown as Parameters<typeof solvePlatform>[0];
      const virtual = virtualPackages({ subdir: "linux-64", configured: {}, overrides: {} });
      expect(virtual.map((v) => v.name)).toEqual(["__archspec", "__glibc", "__linux", "__unix"]);
      const request = (spec: string) => ({ specs: [spec], channels: [{ name: "test", url: channel }], platforms: [], sources: ["environment.yml"] });
      const platform = { subdir: "linux-64", virtualPackages: virtual, contentHash: "x" };

      const locked = await solvePlatform(rattler, request("foo"), platform);
      if (!Array.isArray(locked)) throw new Error(`solve failed: ${locked.message}`);
      expect(locked.map((p) => [p.name, p.filename, p.sha256])).toEqual([["foo", written.filename, written.sha256]]);
      // The lock keeps the dependency on __glibc: only the record is dropped.
      expect(locked[0]!.dependencies).toEqual({ __glibc: ">=2.17" });
      const outRoot = join(tmp(), "out");
      for (const p of locked) {
        await installPackage({ archive: join(dir, p.filename), url: p.url, filename: p.filename, sha256: p.sha256, md5: p.md5, prefix: PREFIX, outRoot });
      }
      expect(readdirSync(join(outRoot, PREFIX, "conda-meta"))).toEqual(["foo-1.0-h0_0.json"]);

      // The virtual packages really took part: a package needing a newer glibc than the target's is unsatisfiable.
      const refused = await solvePlatform(rattler, request("needs-new-glibc"), platform);
      expect(refused).toMatchObject({ ok: false, kind: "unsatisfiable", platform: "linux-64" });
    });
  }, 60_000);

  it("35. `variables: {foo: bar}` -> conda-meta/state, written by the install stage from environment.yml", async () => {
    // conda-meta/state ({"env_vars": ...}) is environment-wide: the install stage writes it in
    // the layer above the packages', from the plan's variables (keys keep their case, as conda
    // does). Read here from the stage's LLB: the file op that makes it.
    const { conda } = planBuild(
      parseEnvironment("environment.yml", "name: app\nchannels: [conda-forge]\ndependencies:\n  - foo\nvariables:\n  foo: bar\n  MixedCase: Value\n"),
      parseBuildOptions({}, { OS: "linux", Architecture: "amd64" }),
    );
    const stageOf = (variables: [string, string][]) =>
      installStage({ tool: stageTool, packages: [], prefix: PREFIX, requested: {}, variables, sourceDateEpoch: 7, ignoreCache: false, compilePyc: false, privateChannels: [], network: "none" });
    const made = recordsLayerFiles(stageOf(conda.variables));
    expect(JSON.parse(made["/env/conda-meta/state"]!)).toEqual({ env_vars: { foo: "bar", MixedCase: "Value" } });
    expect(made["/env/conda-meta/history"]).toMatch(/^==> 1970-01-01 00:00:07 <==\n/);
    // No variables: no state file. And a package's own install step never writes one.
    expect(Object.keys(recordsLayerFiles(stageOf([])))).toEqual(["/env/conda-meta/history"]);
    const i = await install(pkg("vars", [{ path: "share/v", content: "v\n" }]));
    expect(existsSync(join(i.root, "conda-meta/state"))).toBe(false);
  });

  describe("36. Archive entry `../etc/passwd`, an absolute entry, or a symlink followed by an entry through it: refused, nothing written outside the prefix", () => {
    /** base/out is the output root (prefix /env), base/sibling a directory next to it that must stay empty. */
    function layout() {
      const dir = tmp();
      const sibling = join(dir, "sibling");
      mkdirSync(sibling);
      return { outRoot: join(dir, "out"), sibling };
    }
    const nothingOutside = (outRoot: string, sibling: string) => {
      expect(readdirSync(sibling)).toEqual([]);
      // Inside outRoot, only the prefix may exist (../etc/passwd from /env would be <outRoot>/etc).
      if (existsSync(outRoot)) expect(readdirSync(outRoot)).toEqual(["env"]);
    };

    for (const format of ["conda", "tar.bz2"] as const) {
      for (const pathsJson of [true, false]) {
        const how = `${format}, ${pathsJson ? "paths.json" : "legacy info/files"}`;

        it(`../etc/passwd and ../../sibling/passwd, listed (${how})`, async () => {
          for (const bad of ["../etc/passwd", "../../sibling/passwd", "share/../../etc/passwd"]) {
            const { outRoot, sibling } = layout();
            const { req } = await requestFor(pkg("evil", [{ path: "share/ok", content: "ok\n" }, { path: bad, content: "root::0:0::/:/bin/sh\n" }], { pathsJson }), { format, outRoot });
            await expect(installPackage(req)).rejects.toThrow(/refusing the path/);
            nothingOutside(outRoot, sibling);
          }
        });

        it(`an absolute entry, listed (${how})`, async () => {
          const { outRoot, sibling } = layout();
          const abs = join(sibling, "abs-file");
          const { req } = await requestFor(pkg("evil", [{ path: abs, content: "abs\n" }], { pathsJson }), { format, outRoot });
          await expect(installPackage(req)).rejects.toThrow(/refusing the path/);
          nothingOutside(outRoot, sibling);
          expect(existsSync(join(outRoot, PREFIX, abs))).toBe(false);
        });

        it(`a symlink to outside, then an entry through it (${how})`, async () => {
          for (const linkTarget of ["ABS", "../../../sibling"]) {
            const { outRoot, sibling } = layout();
            const { req } = await requestFor(
              pkg("evil", [{ path: "lib/evil", linkTarget: linkTarget === "ABS" ? sibling : linkTarget }, { path: "lib/evil/passwd", content: "pwned\n" }], { pathsJson }),
              { format, outRoot },
            );
            await expect(installPackage(req)).rejects.toThrow(/goes through the symlink/);
            nothingOutside(outRoot, sibling);
          }
        });
      }

      it(`unlisted raw entries with hostile names refuse the whole archive (${format})`, async () => {
        const raws = [
          [{ name: "../etc/passwd", content: "x" }],
          [{ name: "../../sibling/passwd", content: "x" }],
          [{ name: "/abs-entry", content: "x" }],
        ];
        for (const raw of raws) {
          const { outRoot, sibling } = layout();
          const { req } = await requestFor(pkg("evil", [{ path: "share/ok", content: "ok\n" }], { raw }), { format, outRoot });
          await expect(installPackage(req)).rejects.toThrow(/refusing the path/);
          nothingOutside(outRoot, sibling);
        }
        // A symlink and an entry through it that nothing lists: never extracted, so nothing escapes.
        const { outRoot, sibling } = layout();
        const { req } = await requestFor(
          pkg("evil", [{ path: "share/ok", content: "ok\n" }], {
            raw: [
              { name: "lib/evil", type: "symlink", linkname: sibling },
              { name: "lib/evil/passwd", content: "pwned\n" },
            ],
          }),
          { format, outRoot },
        );
        await installPackage(req);
        nothingOutside(outRoot, sibling);
        expect(existsSync(join(outRoot, PREFIX, "lib"))).toBe(false);
      });
    }

    it("noarch python mapping cannot be steered outside by python_site_packages_path", async () => {
      const { outRoot, sibling } = layout();
      const { req } = await requestFor(noarchPkg([{ path: "site-packages/m/__init__.py", content: "" }]), { outRoot, python: pythonPkg("../../sibling") });
      await expect(installPackage(req)).rejects.toThrow(/refusing the path/);
      nothingOutside(outRoot, sibling);
    });
  });
});

describe("nothing the installer itself writes goes through a package's symlink", () => {
  function layout() {
    const dir = tmp();
    const sibling = join(dir, "sibling");
    mkdirSync(sibling);
    return { outRoot: join(dir, "out"), sibling };
  }

  it("an entry point is not written through a bin symlink to outside", async () => {
    const { outRoot, sibling } = layout();
    const spec = noarchPkg([{ path: "bin", linkTarget: sibling }, { path: "site-packages/m/__init__.py", content: "def main():\n    return 0\n" }], ["tool = m:main"]);
    const { req } = await requestFor(spec, { outRoot, python: pythonPkg() });
    await expect(installPackage(req)).rejects.toThrow(/goes through the symlink "bin"/);
    expect(readdirSync(sibling)).toEqual([]);
  });

  it("the conda-meta record is not written through a conda-meta symlink", async () => {
    const { outRoot, sibling } = layout();
    const { req } = await requestFor(pkg("sneaky", [{ path: "conda-meta", linkTarget: sibling }]), { outRoot });
    await expect(installPackage(req)).rejects.toThrow(/goes through the symlink "conda-meta"/);
    expect(readdirSync(sibling)).toEqual([]);
  });

  it("records both hashes even when the lock gave only the sha256", async () => {
    const spec = pkg("hashes", [{ path: "share/x", content: "x\n" }]);
    const { req, written } = await requestFor(spec, { hashes: { sha256: "" } });
    req.sha256 = written.sha256;
    delete req.md5;
    await installPackage(req);
    const meta = JSON.parse(readFileSync(join(req.outRoot, req.prefix, "conda-meta", `${stem(spec)}.json`), "utf8")) as { md5: string; sha256: string };
    expect(meta).toMatchObject({ md5: written.md5, sha256: written.sha256 });
  });
});

describe("folders are 0755 even when the install tool runs with umask 0", () => {
  it("creates no world-writable folder", async () => {
    const previous = process.umask(0);
    try {
      const i = await install(pkg("dirs", [{ path: "lib/python3.12/deep/mod.py", content: "x = 1\n" }, { path: "share/empty", directory: true, pathType: "directory" }]));
      for (const dir of ["lib", "lib/python3.12", "lib/python3.12/deep", "share/empty", "conda-meta"]) expect(modeOf(i.root, dir), dir).toBe(0o755);
    } finally {
      process.umask(previous);
    }
  });
});

describe("the layer's folders and what the report counts", () => {
  /** Every folder under `dir` with its mtime, and the files and links with their bytes. */
  function walk(dir: string): { folderTimes: Record<string, number>; files: number; bytes: number } {
    const folderTimes: Record<string, number> = { ".": Math.floor(lstatSync(dir).mtimeMs / 1000) };
    let files = 0;
    let bytes = 0;
    for (const [rel, what] of Object.entries(tree(dir))) {
      if (what.startsWith("dir ")) folderTimes[rel] = Number(what.split(" ")[2]);
      else {
        files++;
        if (what.startsWith("file ")) bytes += statSync(join(dir, rel)).size;
      }
    }
    return { folderTimes, files, bytes };
  }

  it.each([
    ["a package with deep, empty and linked folders", richPackage, undefined],
    ["a noarch: python package with entry points", noarchPkg([{ path: "site-packages/m/sub/__init__.py", content: "def main():\n    return 0\n" }], ["tool = m.sub:main"]), pythonPkg()],
  ])("gives every folder of %s the step's time, and counts every file it wrote", async (_what, spec, python) => {
    const epoch = 1_234_567_890;
    const { req } = await requestFor(spec, { python, prefix: "/opt/env" });
    req.epoch = epoch;
    const { report } = await installPackage(req);
    const found = walk(req.outRoot);
    expect(Object.keys(found.folderTimes)).toEqual(expect.arrayContaining([".", "opt", "opt/env", "opt/env/conda-meta"]));
    for (const [folder, time] of Object.entries(found.folderTimes)) expect(time, folder).toBe(epoch);
    expect(report.written).toEqual({ files: found.files, bytes: found.bytes });
  });
});

describe("pruning while installing (image.prune)", () => {
  it("never writes pruned files, keeps the rest, and counts what it left out", async () => {
    const spec = pkg("prunable", [
      { path: "lib/libp.so.1", content: "so\n", mode: 0o755 },
      { path: "lib/libp.a", content: "static library bytes\n" },
      { path: "include/p.h", content: "#define P 1\n" },
      { path: "share/doc/p/README", content: "docs\n" },
    ]);
    const { req } = await requestFor(spec);
    req.prune = { remove: ["*.a", "include/**", "share/doc/**"], keep: ["share/doc/p/README"] };
    const result = await installPackage(req);
    const root = join(req.outRoot, req.prefix);
    expect(leafPaths(root, (r) => r.startsWith("conda-meta"))).toEqual(["lib/libp.so.1", "share/doc/p/README"]);
    expect(result.report.pruned).toEqual({ "*.a": { files: 1, bytes: 21 }, "include/**": { files: 1, bytes: 12 } });
    const metaFile = join(root, "conda-meta", `${stem(spec)}.json`);
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { files: string[] };
    expect(meta.files.sort()).toEqual(["lib/libp.so.1", "share/doc/p/README"]);
    // What the layer carries: the two files and the package's conda-meta record.
    expect(result.report.name).toBe("prunable");
    expect(result.report.written).toEqual({ files: 3, bytes: 3 + 5 + statSync(metaFile).size });
  });

  it("never prunes a library that a program of the same package needs (DT_NEEDED)", async () => {
    // A real program of this machine, which needs libc.so.6, shipped with a "libc" of its own.
    const spec = pkg("needy", [
      { path: "bin/tool", content: readFileSync("/usr/bin/env"), mode: 0o755 },
      { path: "lib/libc.so.6", content: "the library\n", mode: 0o755 },
      { path: "lib/libc.so.7", content: "not needed\n", mode: 0o755 },
    ]);
    const { req } = await requestFor(spec);
    req.prune = { remove: ["lib/libc.so*"], keep: [] };
    const result = await installPackage(req);
    expect(leafPaths(join(req.outRoot, req.prefix), (r) => r.startsWith("conda-meta"))).toEqual(["bin/tool", "lib/libc.so.6"]);
    expect(result.report.pruned).toEqual({ "lib/libc.so*": { files: 1, bytes: 11 } });
  });

  it("reports what activation would read: env_vars.d texts, activate.d and post-link scripts", async () => {
    const spec = pkg("activating", [
      { path: "etc/conda/env_vars.d/activating.json", content: '{"A": "1"}\n' },
      { path: "etc/conda/activate.d/activating.sh", content: "export B=2\n" },
      { path: "bin/.activating-post-link.sh", content: "echo hi\n", mode: 0o755 },
      { path: "bin/.activating-pre-unlink.sh", content: "echo bye\n", mode: 0o755 },
    ]);
    const { req } = await requestFor(spec);
    const { report } = await installPackage(req);
    expect(report.envVarFiles).toEqual({ "activating.json": '{"A": "1"}\n' });
    expect(report.activateScripts).toEqual(["etc/conda/activate.d/activating.sh"]);
    expect(report.postLinkScripts).toEqual(["bin/.activating-post-link.sh"]);
    const plain = await installPackage((await requestFor(pkg("plain", [{ path: "lib/x", content: "x" }]))).req);
    expect(Object.keys(plain.report).sort()).toEqual(["kind", "name", "pruned", "written"]);
  });

  /** Runs the install step's CLI entry on `req`, asking for its report at a path outside the layer. */
  async function runWithReport(req: InstallRequest, name: string): Promise<string> {
    req.report = join(tmp(), `${name}.json`);
    const requestFile = join(tmp(), "request.json");
    writeFileSync(requestFile, JSON.stringify(req));
    expect(await runInstall(requestFile)).toBe(0);
    return req.report;
  }

  it("writes its report outside the layer when asked to", async () => {
    const spec = pkg("reported", [{ path: "include/r.h", content: "#define R 1\n" }, { path: "bin/r", content: "r\n", mode: 0o755 }]);
    const { req } = await requestFor(spec);
    req.prune = { remove: ["include/**"], keep: [] };
    const path = await runWithReport(req, "reported");
    // A short report is the target of a symlink (the frontend reads all of them with one ReadDir).
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    const report = JSON.parse(readlinkSync(path, "utf8")) as unknown;
    expect(isStepReport(report)).toBe(true);
    expect(report).toMatchObject({ name: "reported", written: { files: 2 }, pruned: { "include/**": { files: 1, bytes: 12 } } });
    expect(leafPaths(req.outRoot, () => false).some((p) => p.includes("reported.json"))).toBe(false);
  });

  it("writes a report too long for a symlink's target as a file", async () => {
    const vars = JSON.stringify(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`LONG_VARIABLE_${i}`, "x".repeat(20)])));
    const { req } = await requestFor(pkg("talkative", [{ path: "etc/conda/env_vars.d/talkative.json", content: vars }]));
    const path = await runWithReport(req, "talkative");
    expect(lstatSync(path).isFile()).toBe(true);
    const report = JSON.parse(readFileSync(path, "utf8")) as StepReport;
    expect(JSON.stringify(report).length).toBeGreaterThan(maxLinkedReport);
    expect(report.envVarFiles).toEqual({ "talkative.json": vars });
  });
});
