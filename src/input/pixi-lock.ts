// pixi.lock (rattler_lock's format, versions 5 to 7) as a Lock: one environment's conda packages
// and PyPI wheels for the conda subdirs built. The file is the lock writer's word: names and URLs
// are checked as lock.ts checks them, and sizes are bounded.
//
// Format facts (rattler_lock: file_format_version.rs, parse/deserialize.rs, parse/models/v5, v6,
// v7, utils/derived_fields.rs):
// - `version:` 5 and 6 key an environment's `packages:` by conda subdir; 7 adds a top-level
//   `platforms:` list ({name, subdir?, virtual-packages?}) and keys them by platform name (the
//   subdir when `subdir` is left out).
// - An environment: `channels: [{url, used_env_vars?}]`, optional `indexes:` and `find-links:`,
//   `options:`, and `packages: {<platform>: [{conda: <url>} | {pypi: <url>} | {conda_source: ...}]}`
//   (6 may add name/version/build/subdir to a conda selector to tell apart records sharing a URL).
// - The top-level `packages:` list: version 5 tags each record `kind: conda|pypi` and gives `url:`
//   (pypi: `url:` or `path:`); 6 and 7 give the location as the value of `conda:` or `pypi:`
//   (7 also `conda_source:` for packages pixi builds). Hashes are `sha256:`/`md5:` on the record.
// - From 6 on, a conda record leaves out what its URL tells: name, version and build from the file
//   name (name-version-build.conda/.tar.bz2), subdir from the URL's folder, channel from the rest.
// - PyPI records: `name`, `version` (7 leaves it out for source trees), `sha256`, `requires_dist`,
//   `requires_python`, `editable` (5, 6).
import { isMap, isScalar, type Node, type YAMLMap } from "yaml";
import { show } from "./errors";
import { archiveNameOf, type Lock, type LockedPackage, splitArchiveName } from "./lock";
import { unsafeNamePart } from "./package-names";
import { type Located, sourceFile } from "./source";
import { got, YamlReader } from "./yaml-reader";

export const pixiLockVersions = { oldest: 5, newest: 7 } as const;
/** Bounds on what one environment may list: far above any real environment. */
export const pixiLockLimits = { packagesPerPlatform: 20_000, dependsPerPackage: 5_000, urlLength: 4_096 } as const;

export interface PixiLockOptions {
  /** The environment to install; "default" when not given. */
  environment?: string;
  /** The conda subdirs built (linux-64, linux-aarch64). */
  subdirs: string[];
}

export interface PixiLock extends Lock {
  /** The file's `version:`. */
  fileVersion: number;
  environmentName: string;
  /** Every environment in the file. */
  environmentNames: string[];
  /** The environment's PyPI indexes and find-links locations, as written. */
  pypiIndexes: string[];
  findLinks: string[];
}

const hex = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

export function readPixiLock(fileName: string, text: string, options: PixiLockOptions): PixiLock {
  const file = sourceFile(fileName, text);
  const r = new YamlReader(file);
  const wanted = options.environment ?? "default";
  const root = r.root();
  if (!root) {
    if (!r.problems.length) r.problems.push({ message: "the lock file is empty" });
    r.throwIfProblems();
    throw new Error("unreachable");
  }
  const get = (m: YAMLMap, key: string) => (m.get(key, true) as Node | undefined) ?? null;
  const version = readVersion(r, get(root, "version"));
  r.throwIfProblems();

  // Platform names -> subdirs (7 lists them; before, the names are the subdirs).
  const platformSubdir = new Map<string, string>();
  if (version >= 7) {
    for (const [i, item] of (r.sequence(get(root, "platforms"), "platforms") ?? []).entries()) {
      const m = r.mapping(item, `platforms[${i}]`);
      if (!m) continue;
      const name = r.string(get(m, "name"), `platforms[${i}].name`);
      const subdir = m.has("subdir") ? r.string(get(m, "subdir"), `platforms[${i}].subdir`) : name;
      if (name && subdir) platformSubdir.set(name.value, subdir.value);
    }
  }

  const envsNode = get(root, "environments");
  const envs = r.mapping(envsNode, "environments");
  if (!envs) {
    if (!r.problems.length) r.problems.push({ message: "no environments: table; is this a pixi.lock?", range: r.range(root) });
    r.throwIfProblems();
  }
  const entries = r.entries(envs!, "environments");
  const environmentNames = entries.map((e) => e.key);
  const env = entries.find((e) => e.key === wanted);
  if (!env) {
    r.problems.push({ message: `pixi.lock has no environment ${show(wanted)}; its environments: ${environmentNames.join(", ") || "none"}`, range: r.range(keyOf(root, "environments") ?? envsNode) });
    r.throwIfProblems();
  }
  const envMap = r.mapping(env!.value, `environments.${wanted}`);
  r.throwIfProblems();
  const where = `environments.${wanted}`;

  const lock: PixiLock = {
    version: 1, platforms: [...options.subdirs], channels: [], contentHash: {}, sources: [fileName], packages: [], ours: false,
    fileVersion: version, environmentName: wanted, environmentNames, pypiIndexes: [], findLinks: [],
  };
  for (const [i, item] of (r.sequence(get(envMap!, "channels"), `${where}.channels`) ?? []).entries()) {
    const m = r.mapping(item, `${where}.channels[${i}]`);
    const url = m ? r.string(get(m, "url"), `${where}.channels[${i}].url`) : undefined;
    if (url) lock.channels.push(url.value.replace(/\/+$/, ""));
  }
  if (envMap!.has("indexes")) lock.pypiIndexes = r.stringList(get(envMap!, "indexes"), `${where}.indexes`).map((s) => s.value);
  for (const [i, item] of (envMap!.has("find-links") ? r.sequence(get(envMap!, "find-links"), `${where}.find-links`) ?? [] : []).entries()) {
    const m = r.mapping(item, `${where}.find-links[${i}]`);
    const loc = m ? r.string(get(m, "url") ?? get(m, "path"), `${where}.find-links[${i}]`) : undefined;
    if (loc) lock.findLinks.push(loc.value);
  }

  const records = indexRecords(r, get(root, "packages"), version);
  const packagesNode = get(envMap!, "packages");
  const byPlatform = r.mapping(packagesNode, `${where}.packages`);
  const platformEntries = byPlatform ? r.entries(byPlatform, `${where}.packages`) : [];
  for (const subdir of options.subdirs) {
    const matching = platformEntries.filter((p) => (version >= 7 ? platformSubdir.get(p.key) : p.key) === subdir);
    const chosen = matching.length > 1 ? matching.find((p) => p.key === subdir) : matching[0];
    if (!chosen) {
      const why = matching.length > 1 ? `several platforms of environment ${wanted} are ${subdir} (${matching.map((m) => m.key).join(", ")}) and none is named ${subdir}` : `pixi.lock has no ${subdir} packages for environment ${wanted}; run \`pixi lock\` with ${subdir} in platforms`;
      r.problems.push({ message: why, range: r.range(keyOf(envMap!, "packages") ?? env!.keyNode) });
      continue;
    }
    const at = `${where}.packages.${chosen.key}`;
    const selectors = r.sequence(chosen.value, at) ?? [];
    if (selectors.length > pixiLockLimits.packagesPerPlatform) {
      r.fail(chosen.keyNode, `${at}: ${selectors.length} packages, more than ${pixiLockLimits.packagesPerPlatform}`);
      continue;
    }
    const seen = new Set<string>();
    for (const [i, sel] of selectors.entries()) {
      const pkg = readSelected(r, sel, `${at}[${i}]`, subdir, records, version);
      if (pkg && !seen.has(`${pkg.manager} ${pkg.url}`)) {
        seen.add(`${pkg.manager} ${pkg.url}`);
        lock.packages.push(pkg);
      }
    }
  }
  r.throwIfProblems();
  return lock;
}

function readVersion(r: YamlReader, node: Node | null): number {
  if (!isScalar(node) || typeof node.value !== "number" || !Number.isInteger(node.value)) {
    r.fail(node, `expected version: 5, 6 or 7 (a pixi.lock), got ${node ? got(node) : "no version"}`);
    return 0;
  }
  const v = node.value;
  if (v > pixiLockVersions.newest) r.fail(node, `pixi.lock version ${v} is newer than this frontend reads (${pixiLockVersions.oldest}-${pixiLockVersions.newest}); use a conda-frontend release that reads it, or lock with a pixi that writes version ${pixiLockVersions.newest}`);
  else if (v < pixiLockVersions.oldest) r.fail(node, `pixi.lock version ${v} is older than this frontend reads (${pixiLockVersions.oldest}-${pixiLockVersions.newest}); run \`pixi lock\` with a current pixi to rewrite it`);
  return v;
}

/** The key node of `key` in `map`: where a message about that table points. */
function keyOf(map: YAMLMap, key: string): Node | null {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return (pair?.key as Node | undefined) ?? null;
}

interface Records {
  conda: Map<string, YAMLMap[]>;
  source: Map<string, YAMLMap>;
  pypi: Map<string, YAMLMap>;
}

/** The top-level `packages:` by location; records are read only when an environment selects them. */
function indexRecords(r: YamlReader, node: Node | null, version: number): Records {
  const out: Records = { conda: new Map(), source: new Map(), pypi: new Map() };
  for (const [i, item] of (r.sequence(node, "packages") ?? []).entries()) {
    if (!isMap(item)) {
      r.fail(item, `packages[${i}]: expected a mapping, got ${got(item)}`);
      continue;
    }
    const loc = (key: string) => {
      const v = item.get(key, true) as unknown;
      return isScalar(v) && typeof v.value === "string" ? v.value : undefined;
    };
    if (version === 5) {
      const kind = loc("kind");
      const where = loc("url") ?? loc("path");
      if (kind === "conda" && where) push(out.conda, where, item);
      else if (kind === "pypi" && where) out.pypi.set(where, item);
      else r.fail(item, `packages[${i}]: expected kind: conda or pypi with a url`);
      continue;
    }
    const conda = loc("conda");
    const source = loc("conda_source");
    const pypi = loc("pypi");
    if (conda !== undefined) push(out.conda, conda, item);
    else if (source !== undefined) out.source.set(source, item);
    else if (pypi !== undefined) out.pypi.set(pypi, item);
    else r.fail(item, `packages[${i}]: expected a conda:, conda_source: or pypi: location`);
  }
  return out;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function readSelected(r: YamlReader, sel: Node, at: string, subdir: string, records: Records, version: number): LockedPackage | undefined {
  const m = r.mapping(sel, at);
  if (!m) return undefined;
  const str = (key: string) => {
    const v = m.get(key, true) as unknown;
    return isScalar(v) ? String(v.source ?? v.value) : undefined;
  };
  const conda = str("conda");
  const pypi = str("pypi");
  const source = str("conda_source");
  if (source !== undefined) {
    return r.fail(sel, `${at}: ${show(source)} is a source package pixi builds; conda-frontend installs built packages only: build it (pixi build), publish it to a channel, depend on it by version and run \`pixi lock\``);
  }
  if (conda !== undefined) {
    let candidates = records.conda.get(conda) ?? [];
    // Version 6 tells records sharing a URL apart by the selector's name, version, build, subdir.
    for (const key of ["name", "version", "build", "subdir"]) {
      const want = str(key);
      if (want !== undefined && candidates.length > 1) candidates = candidates.filter((c) => recordField(c, key, conda) === want);
    }
    if (!candidates.length) return r.fail(sel, `${at}: ${show(conda)} is not among the lock's packages`);
    return readConda(r, candidates[0]!, conda, subdir, version);
  }
  if (pypi !== undefined) {
    const rec = records.pypi.get(pypi);
    if (!rec) return r.fail(sel, `${at}: ${show(pypi)} is not among the lock's packages`);
    return readPypi(r, rec, pypi, subdir, version);
  }
  return r.fail(sel, `${at}: expected conda: or pypi:, got ${got(sel)}`);
}

/** A conda record's name, version, build or subdir: as written, else as its URL tells. */
function recordField(m: YAMLMap, key: string, location: string): string | undefined {
  const v = m.get(key, true) as unknown;
  if (isScalar(v) && v.value !== null) return String(v.source ?? v.value);
  const segments = location.split("/");
  if (key === "subdir") return segments[segments.length - 2];
  const parts = splitArchiveName(segments[segments.length - 1] ?? "");
  return parts?.[key as "name" | "version" | "build"];
}

/** A location as a URL, or undefined for a path (relative, absolute, or one that is no URL). */
function asUrl(location: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(location)) return undefined;
  try {
    return new URL(location);
  } catch {
    return undefined;
  }
}

function readConda(r: YamlReader, rec: YAMLMap, location: string, subdir: string, version: number): LockedPackage | undefined {
  const node = (rec.get(version === 5 ? "url" : "conda", true) as Node | undefined) ?? rec;
  const where = `package ${show(location)}`;
  if (location.length > pixiLockLimits.urlLength) return r.fail(node, `${where}: a URL of ${location.length} characters, more than ${pixiLockLimits.urlLength}`);
  const url = asUrl(location);
  let filename: string;
  try {
    filename = url ? archiveNameOf(location) : location.split("/").pop() ?? "";
  } catch {
    return r.fail(node, `${where}: not a URL`);
  }
  const parts = splitArchiveName(filename);
  if (!parts) {
    return r.fail(node, `${where}: a source package pixi builds (no .conda or .tar.bz2 archive); conda-frontend installs built packages only: build it (pixi build), publish it to a channel, depend on it by version and run \`pixi lock\``);
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return r.fail(node, `${where}: a package on a local path; the build cannot read it: serve the channel over http(s) (the channel's URL in [workspace] channels) and run \`pixi lock\``);
  }
  const field = (key: string, coerce = false): Located<string> | undefined => (rec.has(key) ? r.string((rec.get(key, true) as Node | undefined) ?? null, `${where}.${key}`, coerce) : undefined);
  const name = field("name")?.value ?? parts.name;
  const ver = field("version", true)?.value ?? parts.version;
  const build = field("build", true)?.value ?? parts.build;
  // The URL's folder is the subdir when it is one; a record may say so itself.
  const urlSubdir = url.pathname.split("/").slice(-2, -1)[0];
  const recSubdir = field("subdir")?.value ?? (urlSubdir === "noarch" || /^[a-z]+-[a-z0-9_]+$/.test(urlSubdir ?? "") ? urlSubdir : undefined);
  if (recSubdir !== undefined && recSubdir !== subdir && recSubdir !== "noarch") r.fail(node, `${where}: a ${recSubdir} package among the ${subdir} packages`);
  for (const [what, value] of Object.entries({ "file name": filename, name, version: ver, build })) {
    const why = unsafeNamePart(value);
    if (why) return r.fail(node, `${where}: ${what} ${show(value)} cannot name a file: ${why}`);
  }
  if (parts.name !== name || parts.version !== ver) r.fail(node, `${where}: the URL's file ${show(filename)} is not ${name} ${ver}, the package's name and version`);
  const { md5, sha256 } = hashes(r, rec, where);
  const depends = rec.has("depends") ? r.stringList((rec.get("depends", true) as Node | undefined) ?? null, `${where}.depends`) : [];
  if (depends.length > pixiLockLimits.dependsPerPackage) return r.fail(node, `${where}: ${depends.length} dependencies, more than ${pixiLockLimits.dependsPerPackage}`);
  const dependencies: Record<string, string> = {};
  for (const d of depends) {
    // `libffi >=3.4,<4.0a0` -> libffi: >=3.4,<4.0a0 (conda-lock's form; "*" without a constraint).
    const text = d.value.trim();
    const dep = text.split(/[\s=<>!~[]/, 1)[0]!.toLowerCase();
    if (dep && !Object.hasOwn(dependencies, dep)) dependencies[dep] = text.slice(dep.length).trim() || "*";
  }
  return { name, version: ver, build, platform: subdir, manager: "conda", url: location, filename, md5, sha256, dependencies, category: "main", optional: false };
}

function readPypi(r: YamlReader, rec: YAMLMap, location: string, subdir: string, version: number): LockedPackage | undefined {
  const node = (rec.get(version === 5 ? (rec.has("url") ? "url" : "path") : "pypi", true) as Node | undefined) ?? rec;
  const nameNode = (rec.get("name", true) as Node | undefined) ?? null;
  const name = r.string(nameNode, `package ${show(location)}.name`);
  if (!name) return undefined;
  const where = `PyPI package ${name.value}`;
  if (location.length > pixiLockLimits.urlLength) return r.fail(node, `${where}: a URL of ${location.length} characters, more than ${pixiLockLimits.urlLength}`);
  const url = asUrl(location);
  const editable = rec.get("editable") === true;
  const isPath = !url || url.protocol === "file:" || (version === 5 && !rec.has("url"));
  if (editable || isPath) {
    return r.fail(node, `${where}: ${editable ? "an editable install" : "a local path"} (${show(location)}); to install the project itself set [tool.conda-frontend.image.app] copy = ["."] and install = "pip", otherwise build a wheel, publish it to an index and run \`pixi lock\``);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return r.fail(node, `${where}: ${show(location)}: only http(s) wheel URLs are installed`);
  const filename = archiveNameOf(location);
  if (!filename.endsWith(".whl")) {
    return r.fail(node, `${where}: ${show(filename)} is a source distribution, which pip would build at install time; conda-frontend installs wheels only: build a wheel, publish it to the index and run \`pixi lock\` (or depend on the conda package instead)`);
  }
  if (version >= 7 && !rec.has("version")) return r.fail(node, `${where}: no version (a source tree)`);
  const ver = r.string((rec.get("version", true) as Node | undefined) ?? null, `${where}.version`, true);
  if (!ver) return undefined;
  for (const [what, value] of Object.entries({ "file name": filename, name: name.value, version: ver.value })) {
    const why = unsafeNamePart(value);
    if (why) return r.fail(node, `${where}: ${what} ${show(value)} cannot name a file: ${why}`);
  }
  // A wheel's file name starts with its distribution name (- as _) and version.
  const [wheelName, wheelVersion] = filename.split("-");
  const norm = (s: string) => s.toLowerCase().replace(/[-_.]+/g, "-");
  if (norm(wheelName ?? "") !== norm(name.value) || wheelVersion !== ver.value) r.fail(node, `${where}: the wheel ${show(filename)} is not ${name.value} ${ver.value}`);
  const { md5, sha256 } = hashes(r, rec, where);
  const dependencies: Record<string, string> = {};
  const requires = rec.has("requires_dist") ? r.stringList((rec.get("requires_dist", true) as Node | undefined) ?? null, `${where}.requires_dist`) : [];
  if (requires.length > pixiLockLimits.dependsPerPackage) return r.fail(node, `${where}: ${requires.length} requirements, more than ${pixiLockLimits.dependsPerPackage}`);
  for (const req of requires) {
    const [spec, marker] = req.value.split(";", 2);
    if (marker && /\bextra\s*==/.test(marker)) continue;
    const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(spec ?? "");
    if (m) dependencies[norm(m[1]!)] = m[3]!.trim().replace(/^\((.*)\)$/, "$1") || "*";
  }
  return { name: name.value, version: ver.value, build: "", platform: subdir, manager: "pip", url: location, filename, md5, sha256, dependencies, category: "main", optional: false };
}

function hashes(r: YamlReader, rec: YAMLMap, where: string): { md5?: string; sha256?: string } {
  const read = (key: string, n: number) => {
    if (!rec.has(key)) return undefined;
    const node = (rec.get(key, true) as Node | undefined) ?? null;
    const s = r.string(node, `${where}.${key}`, true);
    if (s && !hex(n).test(s.value)) return r.fail(node, `${where}.${key}: expected ${n} hex digits, got ${show(s.value)}`);
    return s?.value;
  };
  const out = { md5: read("md5", 32), sha256: read("sha256", 64) };
  if (!out.md5 && !out.sha256 && !rec.has("md5") && !rec.has("sha256")) r.problems.push({ message: `${where}: no hash (sha256 or md5)`, range: r.range(rec) });
  return out;
}
