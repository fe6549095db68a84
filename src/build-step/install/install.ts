// The install step's tool (`conda-frontend install --group <request.json>`): each package
// downloaded (../download.ts), verified, read, linked into <out>/<prefix>, recorded in
// conda-meta. BuildKit runs one such step per package, or per run of packages in a large
// environment, so a changed package re-does only its own step.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, fstatSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync, readSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { joined, type PackageSource, readPackageFiles, readPackageInfo } from "./archive";
import { condaMetaName, condaMetaRecord } from "./conda-meta";
import { checkParents, dirMode, type LinkOptions, type LinkResult, type ModeChange, PackageLinker } from "./link";
import { type IndexJson, type PackageMetadata, readMetadata } from "./metadata";
import { splitArchiveFileName, unsafeNamePart } from "../../input/package-names";
import { type PythonInfo, pythonInfo } from "./noarch";
import { formatBytes, type StepReport, writeStepReport } from "../../conda/prune/report";
import { pruner, removesPyc } from "../../conda/prune/rules";
import type { InstallGroupRequest, InstallRequest } from "../../conda/install-request";
import { readAuthHeaders } from "../../conda/auth";
import { downloadAll } from "../download";

export class VerifyError extends Error {}

/** Read size for hashing: large enough that the hash, not the calls, is the cost. */
const readChunk = 1024 * 1024;

/** Archives up to this size are read into memory once, for the hash and the reading after it. */
const wholeArchiveLimit = 64 * 1024 * 1024;

/**
 * Checks the archive against the lock's hash before anything is read from it: no unverified
 * bytes are decompressed. conda-meta records both digests, so the one the lock lacks is computed
 * on the way. An archive up to 64 MiB is read whole and its bytes kept for reading (one read
 * instead of two); a bigger one is hashed one chunk at a time and read again from the file.
 */
function verify(req: InstallRequest): { sha256: string; md5: string; size: number; bytes?: Buffer } {
  const what = `${req.filename} from ${req.url}`;
  if (!req.sha256 && !req.md5) throw new VerifyError(`${what}: no sha256 or md5 to verify the download with`);
  const sha = createHash("sha256");
  // md5 only when the lock lacks it (to record it) or has nothing better to verify with.
  const md5 = req.md5 && req.sha256 ? undefined : createHash("md5");
  let size = 0;
  let bytes: Buffer | undefined;
  const fd = openSync(req.archive, "r");
  try {
    if (fstatSync(fd).size <= wholeArchiveLimit) {
      bytes = readFileSync(fd);
      sha.update(bytes);
      md5?.update(bytes);
      size = bytes.length;
    } else {
      const chunk = Buffer.allocUnsafe(readChunk);
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; size += n) {
        sha.update(chunk.subarray(0, n));
        md5?.update(chunk.subarray(0, n));
      }
    }
  } finally {
    closeSync(fd);
  }
  const got = { sha256: sha.digest("hex"), md5: md5 ? md5.digest("hex") : req.md5!, size, bytes };
  if (req.sha256 && got.sha256 !== req.sha256) throw new VerifyError(`${what}: sha256 mismatch: the lock says ${req.sha256}, the download is ${got.sha256}`);
  if (!req.sha256 && got.md5 !== req.md5) throw new VerifyError(`${what}: md5 mismatch: the lock says ${req.md5}, the download is ${got.md5}`);
  return got;
}

/**
 * The archive must be the package the lock names: its index.json's name, version and build are
 * the lock's (they name conda-meta's record and the step's report), and each is a plain name.
 */
export function checkIdentity(index: IndexJson, req: Pick<InstallRequest, "filename" | "url" | "name" | "version" | "build">): void {
  const what = `${req.filename} from ${req.url}`;
  const expected = req.name !== undefined ? { name: req.name, version: req.version, build: req.build } : splitArchiveFileName(req.filename);
  for (const key of ["name", "version", "build"] as const) {
    const value = index[key];
    if (expected?.[key] !== undefined && value !== expected[key]) {
      throw new VerifyError(`${what}: info/index.json says ${key} ${JSON.stringify(value)}, but the lock says ${JSON.stringify(expected[key])}: the archive is not the package the lock names`);
    }
    const why = unsafeNamePart(value);
    if (why) throw new VerifyError(`${what}: info/index.json's ${key} ${JSON.stringify(value)} cannot name a file: ${why}`);
  }
}

async function pythonOf(archive: string): Promise<PythonInfo> {
  const meta = readMetadata(await readPackageInfo({ path: archive }));
  return pythonInfo(meta.index.version, meta.index.build, meta.index.python_site_packages_path);
}

/**
 * Gives every folder the step made the same time, so identical inputs give identical layers: the
 * output root and every folder on the way to each path written (paths relative to the prefix;
 * the prefix's own folders are on that way). Listed, not walked: a walk looked up each of
 * CPython's ~900 files once more. `maybe`: folders python may have made (__pycache__ of a file
 * that then failed to compile).
 */
function settleFolderTimes(req: InstallRequest, linked: Pick<LinkResult, "files" | "directories">, maybe: Iterable<string>, epoch: number): void {
  const prefix = req.prefix.replace(/^\/+|\/+$/g, "");
  const underRoot = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf("/")));
  const folders = new Set<string>();
  const add = (folder: string) => {
    for (let f = folder; f && !folders.has(f); f = parentOf(f)) folders.add(f);
  };
  add(prefix);
  for (const rel of linked.files) add(parentOf(underRoot(rel)));
  for (const folder of linked.directories) add(underRoot(folder));
  utimesSync(req.outRoot, epoch, epoch);
  for (const folder of folders) lutimesSync(`${req.outRoot}/${folder}`, epoch, epoch);
  for (const folder of maybe) {
    if (folders.has(underRoot(folder))) continue;
    try {
      lutimesSync(`${req.outRoot}/${underRoot(folder)}`, epoch, epoch);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

/**
 * The .pyc compiler (../python/compile_pyc.py): what `python -m compileall --invalidation-mode
 * unchecked-hash` does for each listed file, with only the import machinery every python has loaded
 * at start-up. Embedded in the bundle (scripts/bundle.mjs); read from the sources under tsx and vitest.
 */
const compileScript = typeof __CONDA_FRONTEND_COMPILE_PYC_PY__ !== "undefined" ? __CONDA_FRONTEND_COMPILE_PYC_PY__ : readFileSync(new URL("../python/compile_pyc.py", import.meta.url), "utf8");

/** The folder where python keeps the compiled form of the source file `py`. */
const pycFolderOf = (py: string) => `${py.slice(0, py.lastIndexOf("/") + 1)}__pycache__`;

/** Where python keeps the compiled form of the source file `py`. */
function pycOf(py: string, python: PythonInfo): string {
  return `${pycFolderOf(py)}/${py.slice(py.lastIndexOf("/") + 1, -3)}.cpython-${python.version.replace(".", "")}.pyc`;
}

/** Runs the step's python; resolves with its exit status and what it wrote to stderr. */
function runPython(exe: string, pyRoot: string, args: string[]): Promise<{ status: number | null; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn(exe, ["-E", "-s", ...args], { env: { LD_LIBRARY_PATH: join(pyRoot, "lib"), PYTHONHOME: pyRoot, PATH: "/usr/bin:/bin" }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (error) => resolve({ status: null, stderr, error }));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

/**
 * Byte-compiles the given .py files (relative to the prefix) with the environment's python, run
 * from where its files are in this step. The .pyc files name their sources at the prefix, and use
 * unchecked hashes: valid whatever the layers' file times become, and never rewritten at run time
 * (the image's user could not write them anyway). Big packages are compiled by one python per CPU
 * (CPython's standard library, 1500 files, is on every environment's critical path).
 */
async function compilePyc(req: InstallRequest, python: PythonInfo, sources: string[]): Promise<{ path: string; size: number }[]> {
  if (!sources.length || !req.compilePycWith) return [];
  const pyRoot = join(req.compilePycWith, req.prefix);
  const exe = join(pyRoot, python.interpreter);
  const reused = reusePyc(req, python, sources);
  const toCompile = sources.filter((s) => !reused.has(s));
  const workers = Math.max(1, Math.min(availableParallelism(), Math.floor(toCompile.length / 100)));
  const lists: string[][] = Array.from({ length: workers }, () => []);
  toCompile.forEach((s, i) => lists[i % workers]!.push(join(req.outRoot, req.prefix, s)));
  const results = await Promise.all(
    lists.filter((list) => list.length).map(async (list, k) => {
      const listFile = join(req.outRoot, `.pyc-sources-${k}`);
      writeFileSync(listFile, list.join("\n") + "\n");
      try {
        const res = await runPython(exe, pyRoot, ["-c", compileScript, listFile, req.outRoot]);
        // The script's exit 3: this python lacks the importlib internals it uses; compileall does the same.
        if (res.status !== 3) return res;
        return await runPython(exe, pyRoot, ["-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", "-s", req.outRoot, "-p", "/", "-i", listFile]);
      } finally {
        rmSync(listFile);
      }
    }),
  );
  for (const res of results) {
    if (res.error) throw new Error(`cannot run ${exe} to compile .pyc files: ${res.error.message}`);
    // A file that does not compile (test data, python 2 leftovers) is skipped, as conda does: exit 1.
    if (res.status !== 0 && res.status !== 1) throw new Error(`compiling .pyc files failed (${res.status}): ${res.stderr.slice(-2000)}`);
  }
  const compiled: { path: string; size: number }[] = [];
  for (const s of sources) {
    const pyc = pycOf(s, python);
    const st = lstatSync(join(req.outRoot, req.prefix, pyc), { throwIfNoEntry: false });
    if (st) compiled.push({ path: pyc, size: st.size }); // else: did not compile
  }
  return compiled;
}

/**
 * Sources whose .pyc the compiling python's own tree already holds, for the same source bytes: a
 * foreign platform's CPython compiled by the build machine's CPython of the same version, whose
 * standard library is the same files. A hash-based .pyc of the same source by the same python
 * version is the same file, so it is copied (its mode with it) instead of compiled again. Never
 * when the python compiles from this step's own output (its files are the sources themselves).
 */
function reusePyc(req: InstallRequest, python: PythonInfo, sources: string[]): Set<string> {
  const reused = new Set<string>();
  if (!req.compilePycWith || req.compilePycWith === req.outRoot) return reused;
  const theirs = join(req.compilePycWith, req.prefix);
  const ours = join(req.outRoot, req.prefix);
  for (const s of sources) {
    const pyc = pycOf(s, python);
    const theirPyc = lstatSync(join(theirs, pyc), { throwIfNoEntry: false });
    const theirSource = theirPyc?.isFile() ? lstatSync(join(theirs, s), { throwIfNoEntry: false }) : undefined;
    if (!theirSource?.isFile() || theirSource.size !== lstatSync(join(ours, s)).size) continue;
    if (!readFileSync(join(theirs, s)).equals(readFileSync(join(ours, s)))) continue;
    mkdirSync(join(ours, pycFolderOf(s)), { recursive: true, mode: dirMode });
    copyFileSync(join(theirs, pyc), join(ours, pyc));
    reused.add(s);
  }
  return reused;
}

/** What activation would read from this package (see StepReport). */
function activationOf(req: InstallRequest, files: string[], scripts: string[]): Pick<StepReport, "envVarFiles" | "activateScripts" | "postLinkScripts"> {
  const envVarFiles: Record<string, string> = {};
  for (const f of files) {
    const m = /^etc\/conda\/env_vars\.d\/([^/]+\.json)$/.exec(f);
    if (m) envVarFiles[m[1]!] = readFileSync(join(req.outRoot, req.prefix, f), "utf8");
  }
  const activateScripts = files.filter((f) => /^etc\/conda\/activate\.d\/[^/]+$/.test(f)).sort();
  const postLinkScripts = scripts.filter((s) => s.endsWith("-post-link.sh"));
  return {
    ...(Object.keys(envVarFiles).length ? { envVarFiles } : {}),
    ...(activateScripts.length ? { activateScripts } : {}),
    ...(postLinkScripts.length ? { postLinkScripts } : {}),
  };
}

export interface InstallResult {
  scripts: string[];
  files: number;
  report: StepReport;
  /** Files whose archive mode was made safe (setuid, setgid, sticky, group or world write taken away). */
  modeChanges: ModeChange[];
  /** What the package says of itself that its files contradict (sizes, hashes in paths.json). */
  warnings: string[];
}

/**
 * The step's lines about modes: every file that lost a setuid, setgid or sticky bit or world
 * write, by name; files that only lost group write (conda-forge builds with umask 002: most of
 * its files) counted, with a few named.
 */
export function describeModeChanges(filename: string, changes: ModeChange[]): string[] {
  const octal = (m: number) => m.toString(8).padStart(3, "0");
  const serious = changes.filter((c) => c.from & 0o7002);
  const groupOnly = changes.filter((c) => !(c.from & 0o7002));
  const lines = serious.map((c) => `${filename}: ${c.path}: mode ${octal(c.from)} -> ${octal(c.to)} (${[c.from & 0o4000 ? "setuid" : "", c.from & 0o2000 ? "setgid" : "", c.from & 0o1000 ? "sticky" : "", c.from & 0o002 ? "world-writable" : ""].filter(Boolean).join(", ")} removed)`);
  if (groupOnly.length) {
    const some = groupOnly.slice(0, 3).map((c) => c.path).join(", ");
    lines.push(`${filename}: group write removed from ${groupOnly.length} file${groupOnly.length === 1 ? "" : "s"} (${some}${groupOnly.length > 3 ? ", ..." : ""}), as conda's umask does`);
  }
  return lines;
}

/** Links the package's files, reading its archive once (twice for hard links to patched files). */
async function linkFromArchive(source: PackageSource, meta: PackageMetadata, opts: LinkOptions): Promise<{ linked: LinkResult; linker: PackageLinker }> {
  const linker = new PackageLinker(meta, opts);
  await readPackageFiles(source, linker.onEntry);
  const wanted = linker.wantedSources();
  if (wanted.size) {
    const sources = new Map<string, { data: Buffer; mode: number }>();
    await readPackageFiles(source, (h) => {
      if (!wanted.has(h.path) || h.type !== "file") return undefined;
      const parts: Buffer[] = [];
      return { data: (c) => void parts.push(c), end: () => void sources.set(h.path, { data: joined(parts), mode: h.mode }) };
    });
    linker.linkFromSources(sources);
  }
  return { linked: linker.finish(), linker };
}

export async function installPackage(req: InstallRequest): Promise<InstallResult> {
  const archive = verify(req); // a mismatch is the error reported, before the bytes are read at all
  const source: PackageSource = archive.bytes ? { bytes: archive.bytes } : { path: req.archive };
  const meta = readMetadata(await readPackageInfo(source));
  checkIdentity(meta.index, req);
  const isPython = meta.index.name === "python";
  const python = isPython ? pythonInfo(meta.index.version, meta.index.build, meta.index.python_site_packages_path) : req.pythonArchive ? await pythonOf(req.pythonArchive) : undefined;
  const epoch = req.epoch ?? 0;
  const prune = req.prune ? pruner(req.prune) : undefined;
  const { linked, linker } = await linkFromArchive(source, meta, { outRoot: req.outRoot, prefix: req.prefix, python: meta.noarch === "python" ? python : undefined, epoch, pruner: prune });
  // A prune rule that removes .pyc files (aggressive) wins over compiling them.
  const pycPruned = req.prune ? removesPyc(req.prune) : false;
  let writtenBytes = linked.bytes;
  const pycFolders = new Set<string>();
  if (python && req.compilePycWith && !pycPruned) {
    const libDir = python.sitePackages.slice(0, python.sitePackages.lastIndexOf("/"));
    const sources = linked.files.filter((f) => f.endsWith(".py") && (f.startsWith(`${libDir}/`) || f.startsWith(`${python.sitePackages}/`)));
    for (const s of sources) pycFolders.add(pycFolderOf(s));
    for (const pyc of await compilePyc(req, python, sources)) {
      utimesSync(join(req.outRoot, req.prefix, pyc.path), epoch, epoch);
      linked.files.push(pyc.path);
      linked.paths.push({ _path: pyc.path, path_type: "pyc_file" });
      writtenBytes += pyc.size;
    }
  }
  const metaName = condaMetaName(meta.index);
  checkParents(join(req.outRoot, req.prefix), `conda-meta/${metaName}`, meta.index.name);
  const metaDir = join(req.outRoot, req.prefix, "conda-meta");
  mkdirSync(metaDir, { recursive: true, mode: dirMode });
  // Both hashes in the record, whichever one the lock had: SBOM tools look for either.
  const record = condaMetaRecord(meta.index, { url: req.url, filename: req.filename, md5: archive.md5, sha256: archive.sha256, requestedSpec: req.requestedSpec }, linked, req.prefix, archive.size);
  const metaFile = join(metaDir, metaName);
  const metaText = Buffer.from(JSON.stringify(record, null, 2) + "\n");
  writeFileSync(metaFile, metaText, { mode: 0o644 });
  utimesSync(metaFile, epoch, epoch);
  settleFolderTimes(req, { files: [...linked.files, `conda-meta/${metaName}`], directories: linked.directories }, pycFolders, epoch);
  // What the step's layer carries: every file and link written, and the files' bytes.
  const written = { files: linked.files.length + 1, bytes: writtenBytes + metaText.length };
  const report: StepReport = { kind: "package", name: meta.index.name, written, pruned: linked.pruned, ...activationOf(req, linked.files, linked.scripts), ...(typeof meta.index.license === "string" && meta.index.license ? { license: meta.index.license } : {}) };
  return { scripts: linked.scripts, files: linked.files.length, report, modeChanges: linker.modeChanges, warnings: linker.warnings };
}

/** Installs one package and tells the step's log what was done; false, after saying why, when it failed. */
async function installAndLog(req: InstallRequest): Promise<boolean> {
  try {
    const { scripts, files, report, modeChanges, warnings } = await installPackage(req);
    process.stderr.write(`${req.filename}: ${files} files into ${req.prefix}, ${formatBytes(report.written.bytes)}\n`);
    for (const line of describeModeChanges(req.filename, modeChanges)) process.stderr.write(`${line}\n`);
    for (const w of warnings) process.stderr.write(`warning: ${req.filename}: ${w}\n`);
    const rules = Object.entries(report.pruned);
    if (rules.length) {
      const total = rules.reduce((n, [, t]) => n + t.bytes, 0);
      process.stderr.write(`pruned ${formatBytes(total)}: ${rules.map(([g, t]) => `${g} ${t.files} files ${formatBytes(t.bytes)}`).join(", ")}\n`);
    }
    if (req.report) writeStepReport(req.report, report);
    for (const s of scripts) process.stderr.write(`warning: ${req.filename} ships ${s}; it was not run (image.post-link: run runs post-link scripts)\n`);
    return true;
  } catch (e) {
    // Every line names the package: most errors (archive, link) know only the package's insides.
    const message = (e as Error).message;
    process.stderr.write(`conda-frontend install: ${message.startsWith(req.filename) ? "" : `${req.filename} from ${req.url}: `}${message}\n`);
    return false;
  }
}

/** One package from a request file (`install <request.json>`; the frontend's steps use --group). */
export async function runInstall(requestFile: string): Promise<number> {
  return (await installAndLog(JSON.parse(readFileSync(requestFile, "utf8")) as InstallRequest)) ? 0 : 1;
}

/** Retry pauses of a group step's downloads: 0.5 s before the second try, doubling (with jitter). */
const downloadBackoffMs = 500;

/**
 * The grouped install step (`install --group <request.json | $VARIABLE>`): downloads what the group needs
 * (a few at a time, retried), then installs its packages one after the other into one layer.
 */
export async function runInstallGroup(file: string): Promise<number> {
  // `$NAME`: the request is in that variable (how the frontend passes a short one).
  const text = file.startsWith("$") ? process.env[file.slice(1)] : readFileSync(file, "utf8");
  if (text === undefined) {
    process.stderr.write(`conda-frontend install: ${file.slice(1)} is not set\n`);
    return 2;
  }
  const req = JSON.parse(text) as InstallGroupRequest;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const auth = req.downloads.some((d) => d.private) ? readAuthHeaders() : [];
    await downloadAll(req.downloads, { cache: req.cache, parallel: req.parallel, attempts: req.attempts, backoffMs: downloadBackoffMs, headers: (d) => (d.private ? auth : []), log });
  } catch (e) {
    log(`conda-frontend install: ${(e as Error).message}`);
    return 1;
  }
  for (const p of req.packages) if (!(await installAndLog(p))) return 1;
  return 0;
}
