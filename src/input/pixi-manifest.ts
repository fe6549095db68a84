// pixi's manifests as an EnvironmentSpec: pixi.toml ([workspace], or the older [project]) and
// pyproject.toml ([tool.pixi.*] plus PEP 621's [project]). One environment is chosen by name;
// its features' dependencies, PyPI dependencies, system requirements and activation variables are
// merged the way pixi merges them, and [tool.conda-frontend.image] is environment.yml's image:
// section. Every value keeps its TOML line.
import { isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";
import type { EnvironmentSpec } from "./environment";
import { type Problem, show } from "./errors";
import { readImageSection } from "./image-section";
import { type Located, lineRange, rangeOf, type SourceRange, sourceFile } from "./source";
import { readTomlRoot } from "./toml-reader";
import { YamlReader } from "./yaml-reader";

export type KeyValue = { key: Located<string>; value: Located<string> };

export interface PixiManifestSpec extends EnvironmentSpec {
  format: "pixi.toml" | "pyproject.toml";
  /** The environment this spec is of. */
  environmentName: string;
  /** Every environment the manifest defines ("default" always among them). */
  environmentNames: string[];
  /** The environment's conda subdirs (workspace platforms, narrowed by its features'). */
  pixiPlatforms: Located<string>[];
  /** The merged [activation.env] of the environment's features; image.env already holds them. */
  activationEnv: KeyValue[];
  /** [system-requirements] and the workspace platforms' virtual packages as image.virtual-packages
   * entries (`__glibc` -> `2.28`); image.virtualPackages already holds them. */
  systemRequirements: KeyValue[];
  solveGroup?: Located<string>;
  /** The manifest's PyPI dependencies need pip, which pixi does not (it installs with uv): pip was
   * added to `dependencies`. */
  pipAdded: boolean;
  /** Settings read and not applied (activation scripts, channel-priority, ...): worth a warning. */
  warnings: Problem[];
}

export interface PixiManifestOptions {
  /** The pixi environment to build; "default" when not given. */
  environment?: string;
}

/** Which pixi input a file name is, by its base name. */
export function pixiInputKind(fileName: string): "pixi.toml" | "pyproject.toml" | "pixi.lock" | undefined {
  const base = fileName.split("/").pop() ?? fileName;
  if (base === "pyproject.toml") return "pyproject.toml";
  if (base === "pixi.lock") return "pixi.lock";
  if (base.endsWith(".toml")) return "pixi.toml";
  return undefined;
}

/** The platforms an image is built for, by conda subdir; other subdirs are not built. */
export const ociPlatformOfSubdir: ReadonlyMap<string, string> = new Map([
  ["linux-64", "linux/amd64"],
  ["linux-aarch64", "linux/arm64"],
]);

// ---------------------------------------------------------------------------------------------
// Features: the default one (the top-level tables), [feature.<name>], pyproject's optional
// dependencies and dependency groups, and an environment's inline content.

interface Feature {
  name: string;
  dependencies: Located<string>[];
  pypi: Located<string>[];
  /** Virtual package name -> version. */
  system: KeyValue[];
  env: KeyValue[];
  channels?: { value: Located<string>; priority: number }[];
  /** Platform names as written (workspace platform names or subdirs). */
  platforms?: Located<string>[];
  targets: { selector: Located<string>; content: Feature }[];
  /** The [feature.x] table or the key naming it, for messages. */
  range: SourceRange;
}

const newFeature = (name: string, range: SourceRange): Feature => ({ name, dependencies: [], pypi: [], system: [], env: [], targets: [], range });

/** Keys a feature-like table may have, and what is done with those not applied. */
const featureKeys = [
  "dependencies", "pypi-dependencies", "system-requirements", "activation", "channels", "platforms", "target",
  "tasks", "channel-priority", "solve-strategy", "constraints", "host-dependencies", "build-dependencies", "pypi-options", "dev",
] as const;
const targetKeys = ["dependencies", "pypi-dependencies", "activation", "tasks", "constraints", "host-dependencies", "build-dependencies", "dev"] as const;
const environmentKeys = ["features", "solve-group", "no-default-feature", ...featureKeys.filter((k) => k !== "system-requirements")] as const;

interface Context {
  r: YamlReader;
  /** "" for pixi.toml, "tool.pixi." for pyproject.toml. */
  prefix: string;
  warnings: Problem[];
  /** [workspace.dependencies]: specs `{ workspace = true }` refers to. */
  workspaceDeps?: YAMLMap;
  /** image.app.install is pip and copies ".": a PyPI dependency on path "." is that install. */
  appInstallsItself: boolean;
}

function readFeature(c: Context, name: string, node: Node | null, where: string, allowed: readonly string[], range: SourceRange, skip: readonly string[] = []): Feature {
  const { r } = c;
  const f = newFeature(name, range);
  const map = r.mapping(node, where.replace(/\.$/, ""));
  if (!map) return f;
  for (const { key, keyNode, value } of r.entries(map, where.replace(/\.$/, "") || "manifest")) {
    if (skip.includes(key)) continue;
    const at = `${where}${key}`;
    if (!allowed.includes(key)) {
      r.unknownKey(keyNode, where.replace(/\.$/, "") || "manifest", key, allowed.filter((k) => !skip.includes(k)));
      continue;
    }
    switch (key) {
      case "dependencies":
        f.dependencies.push(...condaDependencies(c, value, at));
        break;
      case "pypi-dependencies":
        f.pypi.push(...pypiDependencies(c, value, at));
        break;
      case "system-requirements":
        f.system.push(...systemRequirements(c, value, at));
        break;
      case "activation":
        f.env.push(...activation(c, value, at));
        break;
      case "channels":
        f.channels = channelList(c, value, at);
        break;
      case "platforms":
        f.platforms = r.stringList(value, at);
        break;
      case "target": {
        const targets = r.mapping(value, at);
        for (const t of targets ? r.entries(targets, at) : []) {
          const selector = { value: t.key, range: r.range(t.keyNode) };
          f.targets.push({ selector, content: readFeature(c, name, t.value, `${at}.${t.key}.`, targetKeys, selector.range) });
        }
        break;
      }
      case "tasks":
      case "solve-strategy":
        break;
      case "channel-priority":
        if (!(isScalar(value) && value.value === "strict")) c.warnings.push({ message: `${at}: not applied; the channels are used in strict priority`, range: r.range(value) });
        break;
      case "pypi-options":
        pypiOptions(c, value, at);
        break;
      case "constraints":
        if (isMap(value) && value.items.length === 0) break;
        r.fail(keyNode, `${at}: constraints are not supported; pin the package in dependencies instead, or build from pixi.lock (-f pixi.lock)`);
        break;
      default:
        // host-dependencies, build-dependencies, dev: building packages from source.
        if (isMap(value) && value.items.length === 0) break;
        r.fail(keyNode, `${at}: building packages from source is not supported; build them with pixi build, publish them to a channel and list them in dependencies`);
    }
  }
  return f;
}

/** `range` spanning a pair, from its key to the end of its value. */
function pairRange(r: YamlReader, pair: Pair): SourceRange {
  const k = (pair.key as Node).range!;
  const v = (pair.value as Node | null)?.range ?? k;
  return rangeOf(r.file, k[0], v[1]);
}

// ---------------------------------------------------------------------------------------------
// Conda dependencies: `python = "3.12.*"`, `numpy = { version = ">=1.26", channel = "conda-forge" }`.

const condaNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const versionPattern = /^[A-Za-z0-9_.+*!<>=~|,]+$/;
const buildPattern = /^[A-Za-z0-9_.+*]+$/;
const condaTableKeys = ["version", "build", "channel", "build-number", "subdir", "md5", "sha256", "workspace", "path", "git", "url", "branch", "tag", "rev", "subdirectory", "file-name", "license"] as const;

function condaDependencies(c: Context, node: Node | null, where: string): Located<string>[] {
  const { r } = c;
  const map = r.mapping(node, where);
  if (!map) return [];
  const out: Located<string>[] = [];
  for (const { key, keyNode, value, pair } of r.entries(map, where)) {
    const at = `${where}.${key}`;
    const range = pairRange(r, pair);
    if (!condaNamePattern.test(key)) {
      r.fail(keyNode, `${at}: invalid conda package name ${show(key)}`);
      continue;
    }
    const spec = condaSpec(c, key, value, at, 0);
    if (spec !== undefined) out.push({ value: spec, range });
  }
  return out;
}

function condaSpec(c: Context, name: string, value: Node | null, at: string, depth: number): string | undefined {
  const { r } = c;
  if (isMap(value)) return condaTableSpec(c, name, value, at, depth);
  const s = r.string(value, at);
  if (!s) return undefined;
  // "1.2.3 py_0": a version and a build; spaces inside a version (">=1.2, <2") are dropped.
  const parts = s.value.trim().replace(/\s*([,|<>=!~])\s*/g, "$1").split(/\s+/).filter(Boolean);
  if (parts.length === 0) return r.fail(value, `${at}: empty version; write "*" for any version`);
  if (parts.length > 2) return r.fail(value, `${at}: expected a version and an optional build, got ${show(s.value)}`);
  return joinSpec(r, value, at, name, parts[0]!, parts[1]);
}

function joinSpec(r: YamlReader, node: Node | null, at: string, name: string, version: string | undefined, build: string | undefined, channel?: string, options: string[] = []): string | undefined {
  if (version !== undefined && !versionPattern.test(version)) return r.fail(node, `${at}: invalid version ${show(version)}`);
  if (build !== undefined && !buildPattern.test(build)) return r.fail(node, `${at}: invalid build string ${show(build)}`);
  let spec = channel ? `${channel}::${name}` : name;
  const v = version === "*" && build === undefined ? undefined : version;
  if (v !== undefined || build !== undefined) spec += ` ${v ?? "*"}`;
  if (build !== undefined) spec += ` ${build}`;
  if (options.length) spec += `[${options.join(", ")}]`;
  return spec;
}

function condaTableSpec(c: Context, name: string, map: YAMLMap, at: string, depth: number): string | undefined {
  const { r } = c;
  const fields: Record<string, Located<string>> = {};
  for (const { key, keyNode, value } of r.entries(map, at)) {
    if (!(condaTableKeys as readonly string[]).includes(key)) {
      r.unknownKey(keyNode, at, key, condaTableKeys.filter((k) => !sourceKeys.includes(k)));
      continue;
    }
    if (key === "workspace") {
      const b = r.boolean(value, `${at}.workspace`);
      if (b?.value !== true) continue;
      const inherited = c.workspaceDeps?.get(name, true) as Node | undefined;
      if (!inherited) return r.fail(keyNode, `${at}: { workspace = true } but [${c.prefix}workspace.dependencies] has no ${show(name)}`);
      if (depth > 0) return r.fail(keyNode, `${at}: [${c.prefix}workspace.dependencies] entries cannot refer to the workspace again`);
      return condaSpec(c, name, inherited, `${c.prefix}workspace.dependencies.${name}`, depth + 1);
    }
    if (sourceKeys.includes(key)) {
      return r.fail(keyNode, `${at}: ${key === "url" ? "a package from a URL" : "a source package"} is not supported; build it with pixi build or conda-build, publish it to a channel and depend on it by version`);
    }
    const s = r.string(value, `${at}.${key}`, key === "build-number");
    if (s) fields[key] = s;
  }
  if (Object.keys(fields).length === 0 && map.items.length) return undefined;
  const options: string[] = [];
  const option = (key: string, conda: string, pattern: RegExp) => {
    const f = fields[key];
    if (!f) return true;
    if (!pattern.test(f.value)) return r.fail(map, `${at}.${key}: invalid value ${show(f.value)}`) ?? false;
    options.push(`${conda}=${f.value}`);
    return true;
  };
  const ok = [
    option("build-number", "build_number", /^(==|!=|>=|<=|>|<)?\d+$/),
    option("subdir", "subdir", /^[a-z0-9]+-?[a-z0-9_]*$/),
    option("md5", "md5", /^[0-9a-f]{32}$/),
    option("sha256", "sha256", /^[0-9a-f]{64}$/),
    option("file-name", "fn", /^[A-Za-z0-9_.+-]+\.(conda|tar\.bz2)$/),
  ].every(Boolean);
  if (fields.license) c.warnings.push({ message: `${at}.license: not applied`, range: fields.license.range });
  const channel = fields.channel?.value.trim();
  if (channel !== undefined && (!channel || /[\s[\]]/.test(channel))) return r.fail(map, `${at}.channel: invalid channel ${show(channel)}`);
  if (!ok) return undefined;
  const version = fields.version?.value.replace(/\s+/g, "");
  return joinSpec(r, map, at, name, version, fields.build?.value.trim(), channel, options);
}

const sourceKeys: readonly string[] = ["path", "git", "url", "branch", "tag", "rev", "subdirectory"];

// ---------------------------------------------------------------------------------------------
// PyPI dependencies: `greetwheel = "==1.0"`, `pandas = { version = ">=2", extras = ["sql"] }`.

const pypiNamePattern = /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/;
const pypiSpecifier = /^\s*(===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9_.*+!-]+(\s*,\s*(===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9_.*+!-]+)*\s*$/;
const pypiTableKeys = ["version", "extras", "url", "path", "editable", "git", "branch", "tag", "rev", "subdirectory", "lfs", "index"] as const;

export function normalizePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

function pypiDependencies(c: Context, node: Node | null, where: string): Located<string>[] {
  const { r } = c;
  const map = r.mapping(node, where);
  if (!map) return [];
  const out: Located<string>[] = [];
  for (const { key, keyNode, value, pair } of r.entries(map, where)) {
    const at = `${where}.${key}`;
    if (!pypiNamePattern.test(key)) {
      r.fail(keyNode, `${at}: invalid PyPI package name ${show(key)}`);
      continue;
    }
    const req = pypiRequirement(c, key, value, at);
    if (req) out.push({ value: req, range: pairRange(r, pair) });
  }
  return out;
}

/** A pip requirement string, "" for a dependency the image's app install covers, or undefined. */
function pypiRequirement(c: Context, name: string, value: Node | null, at: string): string | undefined {
  const { r } = c;
  if (!isMap(value)) {
    const s = r.string(value, at);
    return s ? withVersion(r, value, at, name, s.value) : undefined;
  }
  let version: Located<string> | undefined;
  let extras: Located<string>[] = [];
  let url: Located<string> | undefined;
  for (const { key, keyNode, value: v } of r.entries(value, at)) {
    if (!(pypiTableKeys as readonly string[]).includes(key)) {
      r.unknownKey(keyNode, at, key, pypiTableKeys);
      return undefined;
    }
    if (key === "version") version = r.string(v, `${at}.version`);
    else if (key === "extras") extras = r.stringList(v, `${at}.extras`);
    else if (key === "url") url = r.string(v, `${at}.url`);
    else if (key === "index") return r.fail(keyNode, `${at}.index: a package index per dependency is not supported; pass the index with --build-arg PIP_INDEX_URL=... (or PIP_EXTRA_INDEX_URL)`);
    else if (key === "path" || key === "editable") {
      const path = isMap(value) ? (value.get("path", true) as Node | undefined) : undefined;
      const p = path && isScalar(path) && typeof path.value === "string" ? path.value.replace(/\/+$/, "") : undefined;
      if ((p === "." || p === "./" || p === "") && c.appInstallsItself) return "";
      return r.fail(keyNode, `${at}: a local path is not supported; to install the project itself, remove this entry and set [tool.conda-frontend.image.app] copy = ["."] and install = "pip"; otherwise build a wheel and list it by version or url`);
    } else return r.fail(keyNode, `${at}: a git dependency is not supported; build a wheel, publish it to an index and depend on it by version`);
  }
  for (const e of extras) if (!pypiNamePattern.test(e.value)) return r.fail(value, `${at}.extras: invalid extra ${show(e.value)}`);
  const withExtras = extras.length ? `${name}[${extras.map((e) => e.value).join(",")}]` : name;
  if (url) {
    if (!/^https?:\/\/[^\s@]+$/.test(url.value)) return r.fail(value, `${at}.url: expected an http(s) URL of a wheel, got ${show(url.value)}`);
    return `${withExtras} @ ${url.value}`;
  }
  return withVersion(r, value, at, withExtras, version?.value ?? "*");
}

function withVersion(r: YamlReader, node: Node | null, at: string, name: string, version: string): string | undefined {
  const v = version.trim();
  if (v === "*" || v === "") return name;
  if (!pypiSpecifier.test(v)) return r.fail(node, `${at}: expected a version specifier such as "==1.0", ">=1.2,<2" or "*", got ${show(version)}`);
  return `${name}${v.replace(/\s+/g, "")}`;
}

function pypiOptions(c: Context, node: Node | null, at: string): void {
  const { r } = c;
  const map = r.mapping(node, at);
  for (const { key, keyNode } of map ? r.entries(map, at) : []) {
    if (key === "index-url" || key === "extra-index-urls" || key === "find-links") {
      r.fail(keyNode, `${at}.${key}: not supported here; pass it as a build argument: --build-arg ${key === "index-url" ? "PIP_INDEX_URL" : key === "find-links" ? "PIP_FIND_LINKS" : "PIP_EXTRA_INDEX_URL"}=...`);
    } else c.warnings.push({ message: `${at}.${key}: not applied`, range: r.range(keyNode) });
  }
}

// ---------------------------------------------------------------------------------------------
// System requirements and activation.

const systemKeys = ["linux", "libc", "cuda", "macos", "archspec"] as const;

function systemRequirements(c: Context, node: Node | null, where: string): KeyValue[] {
  const { r } = c;
  const map = r.mapping(node, where);
  if (!map) return [];
  const out: KeyValue[] = [];
  for (const { key, keyNode, value } of r.entries(map, where)) {
    const at = `${where}.${key}`;
    const keyAt = { value: key, range: r.range(keyNode) };
    if (key === "libc") {
      let family = "glibc";
      let version: Located<string> | undefined;
      if (isMap(value)) {
        for (const e of r.entries(value, at)) {
          if (e.key === "family") family = r.string(e.value, `${at}.family`)?.value.toLowerCase() ?? family;
          else if (e.key === "version") version = r.string(e.value, `${at}.version`, true);
          else r.unknownKey(e.keyNode, at, e.key, ["family", "version"]);
        }
        if (!version) r.fail(value, `${at}: needs version`);
      } else version = r.string(value, at, true);
      if (!/^[a-z][a-z0-9_]*$/.test(family)) r.fail(value, `${at}.family: invalid libc family ${show(family)}`);
      else if (version && checkVersion(r, version, at)) out.push({ key: { ...keyAt, value: `__${family}` }, value: version });
    } else if (key === "linux" || key === "cuda") {
      const v = r.string(value, at, true);
      if (v && checkVersion(r, v, at)) out.push({ key: { ...keyAt, value: `__${key}` }, value: v });
    } else if (key === "archspec") {
      const v = r.string(value, at);
      if (v && /^[A-Za-z0-9_.]+$/.test(v.value)) out.push({ key: { ...keyAt, value: "__archspec" }, value: { value: `1=${v.value}`, range: v.range } });
      else if (v) r.fail(value, `${at}: invalid microarchitecture ${show(v.value)}`);
    } else if (key === "macos") {
      // Not a linux image's concern.
    } else r.unknownKey(keyNode, where, key, systemKeys);
  }
  return out;
}

function checkVersion(r: YamlReader, v: Located<string>, at: string): boolean {
  if (/^[0-9]+(\.[0-9]+)*$/.test(v.value)) return true;
  r.problems.push({ message: `${at}: expected a version such as 2.28, got ${show(v.value)}`, range: v.range });
  return false;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.=]/).map(Number);
  const pb = b.split(/[.=]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function activation(c: Context, node: Node | null, where: string): KeyValue[] {
  const { r } = c;
  const map = r.mapping(node, where);
  if (!map) return [];
  const out: KeyValue[] = [];
  for (const { key, keyNode, value } of r.entries(map, where)) {
    if (key === "env") {
      for (const e of r.stringMap(value, `${where}.env`)) {
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.key.value)) out.push(e);
        else r.problems.push({ message: `${where}.env: invalid variable name ${show(e.key.value)}`, range: e.key.range });
      }
    } else if (key === "scripts") {
      c.warnings.push({ message: `${where}.scripts: activation scripts do not run in the image (it has no shell); set the variables they set in ${where}.env`, range: r.range(keyNode) });
    } else r.unknownKey(keyNode, where, key, ["env", "scripts"]);
  }
  return out;
}

function channelList(c: Context, node: Node | null, where: string): { value: Located<string>; priority: number }[] {
  const { r } = c;
  return (r.sequence(node, where) ?? []).flatMap((item, i) => {
    if (!isMap(item)) {
      const s = r.string(item, `${where}[${i}]`);
      return s ? [{ value: s, priority: 0 }] : [];
    }
    let channel: Located<string> | undefined;
    let priority = 0;
    for (const e of r.entries(item, `${where}[${i}]`)) {
      if (e.key === "channel") channel = r.string(e.value, `${where}[${i}].channel`);
      else if (e.key === "priority") {
        const p = isScalar(e.value) && Number.isInteger(e.value.value) ? (e.value.value as number) : r.fail(e.value, `${where}[${i}].priority: expected a whole number, got ${show(isScalar(e.value) ? e.value.value : e.value)}`);
        if (p !== undefined) priority = p;
      } else r.unknownKey(e.keyNode, `${where}[${i}]`, e.key, ["channel", "priority"]);
    }
    if (!channel) return r.fail(item, `${where}[${i}]: needs channel = "..."`) ?? [];
    return [{ value: channel, priority }];
  });
}

// ---------------------------------------------------------------------------------------------
// The workspace table.

interface Workspace {
  name?: Located<string>;
  channels: { value: Located<string>; priority: number }[];
  /** Platform name -> its subdir and the virtual packages the entry declares. */
  platforms: { name: Located<string>; subdir: string; system: KeyValue[] }[];
  node: YAMLMap;
}

const platformFriendlyKeys: Record<string, string> = { cuda: "__cuda", glibc: "__glibc", linux: "__linux", archspec: "__archspec" };

function readWorkspace(c: Context, node: YAMLMap, where: string): Workspace {
  const { r } = c;
  const ws: Workspace = { channels: [], platforms: [], node };
  for (const { key, value } of r.entries(node, where)) {
    const at = `${where}.${key}`;
    if (key === "name") ws.name = r.string(value, at);
    else if (key === "channels") ws.channels = channelList(c, value, at);
    else if (key === "platforms") ws.platforms = (r.sequence(value, at) ?? []).flatMap((item, i) => workspacePlatform(c, item, `${at}[${i}]`) ?? []);
    else if (key === "dependencies") c.workspaceDeps = r.mapping(value, at);
    else if (key === "channel-priority" && !(isScalar(value) && value.value === "strict")) c.warnings.push({ message: `${at}: not applied; the channels are used in strict priority`, range: r.range(value) });
    else if (key === "exclude-newer") c.warnings.push({ message: `${at}: not applied; build from pixi.lock for the versions pixi chose`, range: r.range(value) });
    // Other keys (version, description, authors, preview, ...) describe the workspace.
  }
  return ws;
}

function workspacePlatform(c: Context, item: Node, at: string): Workspace["platforms"][number] | undefined {
  const { r } = c;
  if (!isMap(item)) {
    const s = r.string(item, at);
    return s ? { name: s, subdir: s.value, system: [] } : undefined;
  }
  let name: Located<string> | undefined;
  let platform: Located<string> | undefined;
  const system: KeyValue[] = [];
  for (const { key, keyNode, value } of r.entries(item, at)) {
    const keyAt = { value: key, range: r.range(keyNode) };
    if (key === "name") name = r.string(value, `${at}.name`);
    else if (key === "platform") platform = r.string(value, `${at}.platform`);
    else if (Object.hasOwn(platformFriendlyKeys, key) || key.startsWith("__")) {
      const v = r.string(value, `${at}.${key}`, true);
      const vp = platformFriendlyKeys[key] ?? key;
      if (v && vp === "__archspec") system.push({ key: { ...keyAt, value: vp }, value: { value: `1=${v.value}`, range: v.range } });
      else if (v) system.push({ key: { ...keyAt, value: vp }, value: v });
    } else if (!["macos", "osx", "windows"].includes(key)) r.unknownKey(keyNode, at, key, ["name", "platform", ...Object.keys(platformFriendlyKeys), "macos", "osx", "windows"]);
  }
  const subdir = platform ?? name;
  if (!subdir) return r.fail(item, `${at}: needs platform = "<conda subdir>"`);
  return { name: name ?? subdir, subdir: subdir.value, system };
}

// ---------------------------------------------------------------------------------------------
// Environments.

interface EnvironmentDef {
  name: Located<string>;
  features: Located<string>[];
  noDefaultFeature: boolean;
  solveGroup?: Located<string>;
  inline?: Feature;
}

function readEnvironments(c: Context, node: Node | null, where: string): EnvironmentDef[] {
  const { r } = c;
  const map = r.mapping(node, where);
  if (!map) return [];
  return r.entries(map, where).flatMap(({ key, keyNode, value }) => {
    const at = `${where}.${key}`;
    const name = { value: key, range: r.range(keyNode) };
    if (!/^[a-z0-9-]+$/.test(key)) return r.fail(keyNode, `${at}: environment names are lower-case letters, digits and "-"`) ?? [];
    if (!isMap(value)) return [{ name, features: r.stringList(value, at), noDefaultFeature: false }];
    const env: EnvironmentDef = { name, features: [], noDefaultFeature: false };
    for (const e of r.entries(value, at)) {
      if (e.key === "features") env.features = r.stringList(e.value, `${at}.features`);
      else if (e.key === "solve-group") env.solveGroup = r.string(e.value, `${at}.solve-group`);
      else if (e.key === "no-default-feature") env.noDefaultFeature = r.boolean(e.value, `${at}.no-default-feature`)?.value ?? false;
    }
    env.inline = readFeature(c, `${key} (inline)`, value, `${at}.`, environmentKeys, name.range, ["features", "solve-group", "no-default-feature"]);
    return [env];
  });
}

// ---------------------------------------------------------------------------------------------
// pyproject.toml's [project]: name, requires-python, dependencies, optional-dependencies, and
// [dependency-groups].

interface Pep621 {
  name?: Located<string>;
  requiresPython?: Located<string>;
  dependencies: Located<string>[];
  /** Optional dependencies and dependency groups, each a feature of PyPI dependencies. */
  groups: Map<string, Feature>;
}

function readPep621(c: Context, root: YAMLMap): Pep621 {
  const { r } = c;
  const out: Pep621 = { dependencies: [], groups: new Map() };
  const project = r.mapping((root.get("project", true) as Node | undefined) ?? null, "project");
  const optional = new Map<string, Located<string>[]>();
  const groupLists = new Map<string, Node>();
  for (const { key, value } of project ? r.entries(project, "project") : []) {
    if (key === "name") out.name = r.string(value, "project.name");
    else if (key === "requires-python") out.requiresPython = r.string(value, "project.requires-python");
    else if (key === "dependencies") out.dependencies = r.stringList(value, "project.dependencies");
    else if (key === "optional-dependencies") {
      const m = r.mapping(value, "project.optional-dependencies");
      for (const e of m ? r.entries(m, "project.optional-dependencies") : []) optional.set(e.key, r.stringList(e.value, `project.optional-dependencies.${e.key}`));
    }
  }
  const groups = r.mapping((root.get("dependency-groups", true) as Node | undefined) ?? null, "dependency-groups");
  for (const e of groups ? r.entries(groups, "dependency-groups") : []) if (e.value) groupLists.set(e.key, e.value);
  const self = out.name ? normalizePypiName(out.name.value) : undefined;

  // `my-project[test]` among optional dependencies names another extra of this project.
  const expandExtra = (name: string, seen: Set<string>): Located<string>[] =>
    (optional.get(name) ?? []).flatMap((req) => {
      const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]*)\]\s*$/.exec(req.value);
      if (!m || normalizePypiName(m[1]!) !== self) return [req];
      return m[2]!.split(",").map((x) => x.trim()).filter((x) => x && !seen.has(x)).flatMap((x) => expandExtra(x, new Set([...seen, x])));
    });
  const expandGroup = (name: string, seen: Set<string>): Located<string>[] =>
    (r.sequence(groupLists.get(name) ?? null, `dependency-groups.${name}`) ?? []).flatMap((item, i) => {
      if (!isMap(item)) return r.string(item, `dependency-groups.${name}[${i}]`) ?? [];
      const inc = r.string((item.get("include-group", true) as Node | undefined) ?? null, `dependency-groups.${name}[${i}].include-group`);
      if (!inc) return [];
      if (seen.has(inc.value) || !groupLists.has(inc.value)) return r.fail(item, `dependency-groups.${name}[${i}]: ${seen.has(inc.value) ? "includes itself" : `no group ${show(inc.value)}`}`) ?? [];
      return expandGroup(inc.value, new Set([...seen, inc.value]));
    });
  for (const name of optional.keys()) addGroup(c, out, name, expandExtra(name, new Set([name])));
  for (const name of groupLists.keys()) addGroup(c, out, name, expandGroup(name, new Set([name])));
  return out;
}

function addGroup(c: Context, pep: Pep621, name: string, reqs: Located<string>[]): void {
  const f = pep.groups.get(name) ?? newFeature(name, reqs[0]?.range ?? lineRange(1));
  f.pypi.push(...reqs.flatMap((req) => checkedRequirement(c, req, `[project] ${name}`) ?? []));
  pep.groups.set(name, f);
}

/** A PEP 508 string from [project]: kept as written unless it is a path or VCS reference. */
function checkedRequirement(c: Context, req: Located<string>, where: string): Located<string> | undefined {
  const text = req.value.trim();
  // eslint-disable-next-line no-control-regex
  if (!/^[A-Za-z0-9]/.test(text) || /[\u0000-\u001f]/.test(text)) {
    c.r.problems.push({ message: `${where}: invalid requirement ${show(req.value)}`, range: req.range });
    return undefined;
  }
  if (/@\s*(file:|git\+|\.|\/)/.test(text)) {
    c.r.problems.push({ message: `${where}: ${show(req.value)}: a path or git requirement is not supported; depend on a published wheel by version`, range: req.range });
    return undefined;
  }
  return { value: text, range: req.range };
}

// ---------------------------------------------------------------------------------------------
// The whole manifest.

const pixiTopKeys = ["workspace", "project", "tool", "$schema", "feature", "environments", "package", ...featureKeys.filter((k) => k !== "channels" && k !== "platforms")] as const;

export function parsePixiManifest(fileName: string, text: string, options: PixiManifestOptions = {}): PixiManifestSpec {
  const file = sourceFile(fileName, text);
  const r = new YamlReader(file);
  const format = pixiInputKind(fileName) === "pyproject.toml" ? "pyproject.toml" : "pixi.toml";
  const wanted = options.environment ?? "default";
  const spec: PixiManifestSpec = {
    file, channels: [], dependencies: [], pip: [], variables: [], image: readImageSection(r, null),
    format, environmentName: wanted, environmentNames: ["default"], pixiPlatforms: [], activationEnv: [], systemRequirements: [], pipAdded: false, warnings: [],
  };
  const root = readTomlRoot(r);
  if (!root) {
    r.throwIfProblems();
    return spec;
  }
  const tool = r.mapping((root.get("tool", true) as Node | undefined) ?? null, "tool");
  const pixi = format === "pyproject.toml" ? r.mapping((tool?.get("pixi", true) as Node | undefined) ?? null, "tool.pixi") : root;
  if (!pixi) {
    if (!r.problems.length) r.problems.push({ message: "no [tool.pixi] table: this pyproject.toml does not configure pixi; add [tool.pixi.workspace] with channels and platforms (pixi init does)", range: lineRange(1) });
    r.throwIfProblems();
    return spec;
  }
  const prefix = format === "pyproject.toml" ? "tool.pixi." : "";
  const imageNode = conformFrontendTable(r, tool);
  spec.image = readImageSection(r, imageNode);
  const c: Context = {
    r, prefix, warnings: spec.warnings,
    appInstallsItself: spec.image.app.install?.value === "pip" && spec.image.app.copy.some((e) => e.value === "." && !e.from),
  };

  // [workspace], or the older [project] of pixi.toml (in pyproject.toml, [project] is PEP 621's).
  const wsNode = pixi.get("workspace", true) as Node | undefined;
  const legacyNode = pixi.get("project", true) as Node | undefined;
  if (wsNode && legacyNode) r.fail(legacyNode, `${prefix}project: the older name of [${prefix}workspace]; keep one of them`);
  const wsMap = r.mapping((wsNode ?? legacyNode) ?? null, `${prefix}workspace`);
  if (!wsMap) {
    if (!wsNode && !legacyNode) r.problems.push({ message: `no [${prefix}workspace] table: it names the channels and platforms (e.g. channels = ["conda-forge"], platforms = ["linux-64"])`, range: lineRange(1) });
    r.throwIfProblems();
    return spec;
  }
  const ws = readWorkspace(c, wsMap, `${prefix}${wsNode ? "workspace" : "project"}`);
  const pep = format === "pyproject.toml" ? readPep621(c, root) : undefined;
  spec.name = ws.name ?? pep?.name;

  // Features: the default one, [feature.<name>], pyproject's extras and groups.
  const defaultFeature = readFeature(c, "default", pixi, prefix, pixiTopKeys, lineRange(1), ["workspace", "project", "tool", "$schema", "feature", "environments", "package"]);
  const features = new Map<string, Feature>(pep?.groups ?? []);
  const featureTable = r.mapping((pixi.get("feature", true) as Node | undefined) ?? null, `${prefix}feature`);
  for (const { key, keyNode, value } of featureTable ? r.entries(featureTable, `${prefix}feature`) : []) {
    if (key === "default") {
      r.fail(keyNode, `${prefix}feature.default: "default" is the top-level tables' feature; put its content there`);
      continue;
    }
    const f = readFeature(c, key, value, `${prefix}feature.${key}.`, featureKeys, r.range(keyNode));
    const group = features.get(key);
    if (group) f.pypi.unshift(...group.pypi);
    features.set(key, f);
  }

  // Environments, and the chosen one.
  const envsNode = (pixi.get("environments", true) as Node | undefined) ?? null;
  const envs = readEnvironments(c, envsNode, `${prefix}environments`);
  spec.environmentNames = [...new Set(["default", ...envs.map((e) => e.name.value)])];
  const env = envs.find((e) => e.name.value === wanted) ?? (wanted === "default" ? { name: { value: "default", range: lineRange(1) }, features: [], noDefaultFeature: false } : undefined);
  if (!env) {
    r.problems.push({ message: `no environment ${show(wanted)} in the manifest (the build arg PIXI_ENVIRONMENT picks one); its environments: ${spec.environmentNames.join(", ")}`, range: envsNode ? envTableRange(r, pixi) : lineRange(1) });
    r.throwIfProblems();
  }
  const chosen: Feature[] = [];
  if (env!.inline) chosen.push(env!.inline);
  for (const f of env!.features) {
    const feature = features.get(f.value);
    if (feature) chosen.push(feature);
    else r.problems.push({ message: `${prefix}environments.${env!.name.value}: no feature ${show(f.value)}; the features: ${[...features.keys()].join(", ") || "none"}`, range: f.range });
  }
  if (!env!.noDefaultFeature) chosen.push(defaultFeature);
  spec.solveGroup = env!.solveGroup;

  // Platforms: the workspace's, narrowed by each feature that names its own.
  const bySubdirOrName = (p: Located<string>) => ws.platforms.find((w) => w.name.value === p.value) ?? ws.platforms.find((w) => w.subdir === p.value);
  let platforms = ws.platforms;
  for (const f of chosen) {
    if (!f.platforms) continue;
    for (const p of f.platforms) if (!bySubdirOrName(p)) r.problems.push({ message: `${f.name === "default" ? "" : `feature ${f.name}: `}platform ${show(p.value)} is not among [${prefix}workspace] platforms`, range: p.range });
    const allowed = new Set(f.platforms.map((p) => bySubdirOrName(p)).filter((w) => w !== undefined));
    platforms = platforms.filter((w) => allowed.has(w));
  }
  spec.pixiPlatforms = platforms.map((p) => ({ value: p.subdir, range: p.name.range }));
  const linuxSubdirs = [...new Set(platforms.map((p) => p.subdir).filter((s) => s.startsWith("linux-")))];

  // target.<selector> tables: those for every linux platform built apply, non-linux ones do not.
  const applied: Feature[] = chosen.flatMap((f) => [f, ...f.targets.flatMap((t) => targetApplies(c, t.selector, linuxSubdirs) ? [t.content] : [])]);

  // Dependencies and PyPI dependencies: every feature's, all of them.
  for (const f of applied) spec.dependencies.push(...f.dependencies);
  const condaNames = new Set(spec.dependencies.map((d) => d.value.replace(/^.*::/, "").split(/[\s[]/)[0]!.toLowerCase()));
  for (const f of applied) spec.pip.push(...f.pypi.filter((p) => p.value !== ""));
  if (pep && !env!.noDefaultFeature) {
    // [project] belongs to the default feature; pixi lets a conda dependency of the same name win.
    for (const req of pep.dependencies) {
      const ok = checkedRequirement(c, req, "project.dependencies");
      if (ok && !condaNames.has(normalizePypiName(/^[A-Za-z0-9._-]+/.exec(ok.value)![0]))) spec.pip.push(ok);
    }
    const rp = pep.requiresPython;
    if (rp && !condaNames.has("python")) {
      const v = rp.value.replace(/\s+/g, "");
      if (versionPattern.test(v)) spec.dependencies.push({ value: `python ${v}`, range: rp.range });
      else r.problems.push({ message: `project.requires-python: invalid version ${show(rp.value)}`, range: rp.range });
    }
  }
  if (spec.pip.length && !condaNames.has("pip")) {
    spec.dependencies.push({ value: "pip", range: spec.pip[0]!.range });
    spec.pipAdded = true;
  }

  // Channels: each feature's own, else the workspace's; higher priority first, then in order.
  const listed = chosen.flatMap((f) => f.channels ?? ws.channels);
  const sorted = listed.map((ch, i) => ({ ch, i })).sort((a, b) => b.ch.priority - a.ch.priority || a.i - b.i);
  const seen = new Set<string>();
  for (const { ch } of sorted) if (!seen.has(ch.value.value)) (seen.add(ch.value.value), spec.channels.push(ch.value));

  // Virtual packages: the system requirements and the platform entries'; the highest version wins.
  const system = new Map<string, KeyValue>();
  const platformSystem = platforms.filter((p) => p.subdir.startsWith("linux-")).flatMap((p) => p.system);
  for (const s of [...applied.flatMap((f) => f.system), ...platformSystem]) {
    const had = system.get(s.key.value);
    if (!had || (s.key.value !== "__archspec" && compareVersions(s.value.value, had.value.value) > 0)) system.set(s.key.value, s);
  }
  spec.systemRequirements = [...system.values()];
  const imageVp = new Set(spec.image.virtualPackages.map((v) => v.key.value));
  spec.image.virtualPackages = [...spec.systemRequirements.filter((s) => !imageVp.has(s.key.value)), ...spec.image.virtualPackages];

  // Activation variables: the first feature that sets one wins (the environment's own, its
  // features in order, then the default feature); image.env wins over all.
  const env_ = new Map<string, KeyValue>();
  for (const f of applied) for (const e of f.env) if (!env_.has(e.key.value)) env_.set(e.key.value, e);
  spec.activationEnv = [...env_.values()];
  const imageEnv = new Set(spec.image.env.map((e) => e.key.value));
  spec.image.env = [...spec.activationEnv.filter((e) => !imageEnv.has(e.key.value)), ...spec.image.env];

  // Image platforms: the workspace's linux ones, unless image.platforms says.
  if (!spec.image.platforms.length) {
    spec.image.platforms = spec.pixiPlatforms.flatMap((p) => {
      const oci = ociPlatformOfSubdir.get(p.value);
      return oci ? [{ value: oci, range: p.range }] : [];
    });
  }
  r.throwIfProblems();
  return spec;
}

/** [tool.conda-frontend]: its image table (other keys are errors); other tools' tables are theirs. */
function conformFrontendTable(r: YamlReader, tool: YAMLMap | undefined): Node | null {
  const ours = r.mapping((tool?.get("conda-frontend", true) as Node | undefined) ?? null, "tool.conda-frontend");
  let image: Node | null = null;
  for (const { key, keyNode, value } of ours ? r.entries(ours, "tool.conda-frontend") : []) {
    if (key === "image") image = value;
    else r.unknownKey(keyNode, "tool.conda-frontend", key, ["image"]);
  }
  return image;
}

function envTableRange(r: YamlReader, pixi: YAMLMap): SourceRange {
  const pair = pixi.items.find((p) => isScalar(p.key) && p.key.value === "environments");
  return r.range((pair?.key as Node | undefined) ?? null);
}

/**
 * Whether target.<selector> applies: linux and unix do, for every linux platform; a linux subdir
 * does when it is the only linux platform built. One built for some of them only is an error: one
 * environment is built for all the image's platforms.
 */
function targetApplies(c: Context, selector: Located<string>, linuxSubdirs: string[]): boolean {
  const s = selector.value;
  if (s === "linux" || s === "unix") return true;
  if (!s.startsWith("linux-")) return false;
  if (linuxSubdirs.length === 1 && linuxSubdirs[0] === s) return true;
  if (!linuxSubdirs.includes(s)) return false;
  c.r.problems.push({ message: `${c.prefix}target.${s}: content for ${s} alone is not supported when the environment is built for ${linuxSubdirs.join(" and ")}; move it to target.linux or the top-level tables, or build one platform (platforms = ["${s}"])`, range: selector.range });
  return false;
}
