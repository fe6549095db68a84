// The `image:` section of environment.yml: how the final image is assembled.
import { isMap, type Node } from "yaml";
import { isContextName } from "./context-name";
import { show } from "./errors";
import type { Located } from "./source";
import type { YamlReader } from "./yaml-reader";

export const defaultBase = "gcr.io/distroless/base-debian12:nonroot";
export const defaultPrefix = "/opt/conda";
export const defaultWorkdir = "/app";
export const defaultUser = "65532:65532";

export interface Healthcheck {
  /** Docker's form: ["CMD", args...] or ["NONE"]. */
  test: string[];
  intervalNs?: number;
  timeoutNs?: number;
  startPeriodNs?: number;
  retries?: number;
  range: Located<unknown>["range"];
}

export type PrunePreset = "none" | "safe" | "aggressive";

export interface PruneSpec {
  preset: Located<PrunePreset>;
  remove: Located<string>[];
  keep: Located<string>[];
}

/**
 * One image.app.copy entry. `value` is the source path, relative to its context ("." for all of
 * it); `from` names a build context (--build-context NAME=...) instead of the main one; `dest`
 * is where it goes, relative to the workdir (default: the source path).
 */
export interface AppCopy extends Located<string> {
  from?: string;
  dest?: string;
}

export interface ImageSpec {
  base?: Located<string>;
  prefix?: Located<string>;
  entrypoint?: Located<string[]>;
  cmd?: Located<string[]>;
  workdir?: Located<string>;
  user?: Located<string>;
  env: { key: Located<string>; value: Located<string> }[];
  ports: Located<string>[];
  labels: { key: Located<string>; value: Located<string> }[];
  healthcheck?: Healthcheck;
  stopSignal?: Located<string>;
  app: { copy: AppCopy[]; install?: Located<"pip" | "none"> };
  // Read and checked now; used by the solve, install and prune stages.
  lockfile?: Located<string>;
  prune?: PruneSpec;
  platforms: Located<string>[];
  virtualPackages: { key: Located<string>; value: Located<string> }[];
  postLink?: Located<"run" | "skip">;
  compilePyc?: Located<boolean>;
  /** Channel URLs that need the `conda-auth` BuildKit secret (an HTTP header line). */
  privateChannels: Located<string>[];
}

const imageKeys = [
  "base", "prefix", "entrypoint", "cmd", "workdir", "user", "env", "ports", "labels", "healthcheck",
  "stop-signal", "app", "lockfile", "prune", "platforms", "virtual-packages", "post-link", "compile-pyc",
  "private-channels",
] as const;

type ImageKey = (typeof imageKeys)[number];

/** How each key of `image:` is read: the part of the spec its value gives (problems go to `r`). */
const imageFields: { [K in ImageKey]: (r: YamlReader, value: Node | null, where: string) => Partial<ImageSpec> } = {
  base: (r, value, where) => ({ base: r.string(value, where) }),
  prefix: (r, value, where) => ({ prefix: absolutePath(r, value, where) }),
  entrypoint: (r, value, where) => ({ entrypoint: command(r, value, where) }),
  cmd: (r, value, where) => ({ cmd: command(r, value, where) }),
  workdir: (r, value, where) => ({ workdir: absolutePath(r, value, where) }),
  user: (r, value, where) => ({ user: user(r, value, where) }),
  env: (r, value, where) => ({ env: environmentVariables(r, value, where) }),
  ports: (r, value, where) => ({ ports: ports(r, value, where) }),
  labels: (r, value, where) => ({ labels: r.stringMap(value, where) }),
  healthcheck: (r, value, where) => ({ healthcheck: healthcheck(r, value, where) }),
  "stop-signal": (r, value, where) => ({ stopSignal: stopSignal(r, value, where) }),
  app: (r, value, where) => ({ app: app(r, value, where) }),
  lockfile: (r, value, where) => ({ lockfile: r.string(value, where) }),
  prune: (r, value, where) => ({ prune: prune(r, value, where) }),
  platforms: (r, value, where) => ({ platforms: r.stringList(value, where) }),
  "virtual-packages": (r, value, where) => ({ virtualPackages: virtualPackages(r, value, where) }),
  "post-link": (r, value, where) => ({ postLink: r.oneOf(value, where, ["run", "skip"] as const) }),
  "compile-pyc": (r, value, where) => ({ compilePyc: r.boolean(value, where) }),
  "private-channels": (r, value, where) => ({ privateChannels: privateChannels(r, value, where) }),
};

export function readImageSection(r: YamlReader, node: Node | null): ImageSpec {
  const image: ImageSpec = { env: [], ports: [], labels: [], app: { copy: [] }, platforms: [], virtualPackages: [], privateChannels: [] };
  const map = r.mapping(node, "image");
  if (!map) return image;
  for (const { key, keyNode, value } of r.entries(map, "image")) {
    // Own keys only: "constructor" or "__proto__" in the file is an unknown key, not Object's.
    if (Object.hasOwn(imageFields, key)) Object.assign(image, imageFields[key as ImageKey](r, value, `image.${key}`));
    else r.unknownKey(keyNode, "image", key, imageKeys);
  }
  return image;
}

/** `env:`, with variable names as a POSIX shell takes them. */
function environmentVariables(r: YamlReader, node: Node | null, where: string): ImageSpec["env"] {
  const env = r.stringMap(node, where);
  for (const e of env) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.key.value)) r.problems.push({ message: `${where}: invalid variable name ${show(e.key.value)}`, range: e.key.range });
  return env;
}

/** `ports:`, each a port number with an optional protocol: 8080, 53/udp. */
function ports(r: YamlReader, node: Node | null, where: string): Located<string>[] {
  return r.stringList(node, where, true).flatMap((p) => {
    if (/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p.value) && Number(p.value.split("/")[0]) <= 65535) return [p];
    r.problems.push({ message: `${where}: invalid port ${show(p.value)}; expected e.g. 8080 or 53/udp`, range: p.range });
    return [];
  });
}

/** `stop-signal:`, a name (SIGTERM, TERM) or a number. */
function stopSignal(r: YamlReader, node: Node | null, where: string): Located<string> | undefined {
  const signal = r.string(node, where, true);
  if (signal && !/^(SIG[A-Z0-9+-]+|[A-Z0-9+-]+|\d+)$/.test(signal.value)) {
    r.problems.push({ message: `${where}: invalid signal ${show(signal.value)}; expected e.g. SIGTERM or 15`, range: signal.range });
  }
  return signal;
}

/** `virtual-packages:`, name -> version; the names are conda's virtual ones (__cuda, __glibc). */
function virtualPackages(r: YamlReader, node: Node | null, where: string): ImageSpec["virtualPackages"] {
  const packages = r.stringMap(node, where);
  for (const v of packages) if (!v.key.value.startsWith("__")) r.problems.push({ message: `${where}: virtual package names start with "__", got ${show(v.key.value)}`, range: v.key.range });
  return packages;
}

/**
 * `private-channels:`, channel URLs without a trailing slash. One with credentials in it (user@
 * or a /t/<token>/ path) is refused: channel URLs go into the build's steps and the lock, the
 * token only into the conda-auth secret.
 */
function privateChannels(r: YamlReader, node: Node | null, where: string): Located<string>[] {
  return r.stringList(node, where).flatMap((c) => {
    if (/^https?:\/\/[^/\s]+/.test(c.value) && !/@|\/t\//.test(c.value)) return [{ value: c.value.replace(/\/+$/, ""), range: c.range }];
    r.problems.push({ message: `${where}: expected a channel URL without credentials (the token goes in the conda-auth secret), got ${show(c.value)}`, range: c.range });
    return [];
  });
}

function absolutePath(r: YamlReader, node: Node | null, where: string): Located<string> | undefined {
  const s = r.string(node, where);
  if (!s) return undefined;
  if (!s.value.startsWith("/") || s.value.includes("\0") || /(^|\/)\.\.(\/|$)/.test(s.value)) {
    return r.fail(node, `${where}: expected an absolute path such as /opt/conda, got ${show(s.value)}`);
  }
  return { value: s.value.length > 1 ? s.value.replace(/\/+$/, "") : s.value, range: s.range };
}

/** Exec form only: the default base image has no shell to run a command string with. */
function command(r: YamlReader, node: Node | null, where: string): Located<string[]> | undefined {
  if (node !== null && "value" in node && typeof (node as { value: unknown }).value === "string") {
    const s = r.string(node, where)!;
    if (/\s/.test(s.value.trim())) {
      return r.fail(node, `${where}: write the command as a list, e.g. ["python", "-m", "app"]: a string would need a shell, and the default base image has none (got ${show(s.value)})`);
    }
    if (!s.value.trim()) return r.fail(node, `${where}: must name a program, got ${show(s.value)}`);
    return { value: [s.value.trim()], range: s.range };
  }
  const before = r.problems.length;
  const items = r.stringList(node, where, true);
  if (r.problems.length > before) return undefined;
  if (items.length === 0) return r.fail(node, `${where}: must not be empty`);
  if (!items[0]!.value.trim()) return r.fail(node, `${where}: the first item must name a program, got ${show(items[0]!.value)}`);
  return { value: items.map((i) => i.value), range: r.range(node) };
}

function user(r: YamlReader, node: Node | null, where: string): Located<string> | undefined {
  const s = r.string(node, where, true);
  if (!s) return undefined;
  if (!/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(s.value)) {
    return r.fail(node, `${where}: expected user, uid, user:group or uid:gid, got ${show(s.value)}`);
  }
  return s;
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go-style durations as Docker takes them: 30s, 1m30s, 500ms. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * durationUnits[m[2]!]!;
    matched = re.lastIndex;
  }
  // Beyond 2^53 ns (104 days) a number no longer holds the nanoseconds exactly: not a duration anyone means.
  return matched === text.length && text.length > 0 && Number.isSafeInteger(Math.round(total)) ? Math.round(total) : undefined;
}

const healthKeys = ["test", "interval", "timeout", "start-period", "retries"] as const;

function healthcheck(r: YamlReader, node: Node | null, where: string): Healthcheck | undefined {
  const map = r.mapping(node, where);
  if (!map) return undefined;
  const hc: Healthcheck = { test: [], range: r.range(node) };
  for (const { key, keyNode, value } of r.entries(map, where)) {
    const at = `${where}.${key}`;
    if (key === "test") {
      const cmd = command(r, value, at);
      if (!cmd) continue;
      const [first] = cmd.value;
      hc.test = first === "NONE" ? ["NONE"] : first === "CMD" ? cmd.value : ["CMD", ...cmd.value];
    } else if (key === "retries") {
      hc.retries = r.integer(value, at, 0)?.value;
    } else if (key === "interval" || key === "timeout" || key === "start-period") {
      const s = r.string(value, at);
      if (!s) continue;
      const ns = parseDuration(s.value);
      if (ns === undefined) {
        r.fail(value, `${at}: expected a duration such as 30s or 1m30s, got ${show(s.value)}`);
        continue;
      }
      if (key === "interval") hc.intervalNs = ns;
      else if (key === "timeout") hc.timeoutNs = ns;
      else hc.startPeriodNs = ns;
    } else {
      r.unknownKey(keyNode, where, key, healthKeys);
    }
  }
  if (hc.test.length === 0) return r.fail(node, `${where}: needs test: [program, args...]`);
  return hc;
}

const appKeys = ["copy", "install"] as const;

function app(r: YamlReader, node: Node | null, where: string): ImageSpec["app"] {
  const out: ImageSpec["app"] = { copy: [] };
  const map = r.mapping(node, where);
  if (!map) return out;
  for (const { key, keyNode, value } of r.entries(map, where)) {
    if (key === "copy") {
      out.copy = (r.sequence(value, `${where}.copy`) ?? []).flatMap((item) => appCopy(r, item, `${where}.copy`) ?? []);
    } else if (key === "install") {
      out.install = r.oneOf(value, `${where}.install`, ["pip", "none"] as const);
    } else {
      r.unknownKey(keyNode, where, key, appKeys);
    }
  }
  return out;
}

/**
 * A path inside a context or the workdir, cleaned: no leading "./" or "/" (a context's root is
 * where paths start), no trailing "/", "." for the whole. Undefined when it would leave it.
 */
export function relativeInside(path: string): string | undefined {
  const stripped = path.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
  const clean = stripped === "" && /^[./]/.test(path) ? "." : stripped;
  if (clean === "" || clean.includes("\0") || /(^|\/)\.\.(\/|$)/.test(clean)) return undefined;
  return clean;
}

const copyKeys = ["from", "src", "dest"] as const;

/** `path` (from the build context) or `{from: NAME, src: path, dest: path}`. */
function appCopy(r: YamlReader, node: Node, where: string): AppCopy | undefined {
  if (!isMap(node)) {
    const p = r.string(node, where);
    if (!p) return undefined;
    // The string form keeps its rule: no absolute paths (they look like paths in the image).
    const clean = p.value.startsWith("/") ? undefined : relativeInside(p.value);
    if (clean === undefined) return r.fail(node, `${where}: paths are relative to the build context and stay inside it, got ${show(p.value)}`);
    return { value: clean, range: p.range };
  }
  const entry: Partial<Record<(typeof copyKeys)[number], Located<string>>> = {};
  for (const { key, keyNode, value } of r.entries(node, where)) {
    if ((copyKeys as readonly string[]).includes(key)) entry[key as (typeof copyKeys)[number]] = r.string(value, `${where}.${key}`);
    else r.unknownKey(keyNode, where, key, copyKeys);
  }
  const range = r.range(node);
  if (!entry.src) return r.fail(node, `${where}: an entry with keys needs src: (a path in the context${entry.from ? ` ${show(entry.from.value)}` : ""})`);
  const src = relativeInside(entry.src.value);
  if (src === undefined) return r.fail(node, `${where}.src: paths stay inside their context, got ${show(entry.src.value)}`);
  const out: AppCopy = { value: src, range };
  if (entry.from) {
    if (!isContextName(entry.from.value)) return r.fail(node, `${where}.from: expected a build context name (letters, digits, "_", ".", "-"), got ${show(entry.from.value)}`);
    out.from = entry.from.value;
  }
  if (entry.dest) {
    const dest = entry.dest.value.startsWith("/") ? undefined : relativeInside(entry.dest.value);
    if (dest === undefined) return r.fail(node, `${where}.dest: a path relative to the workdir, inside it, got ${show(entry.dest.value)}`);
    out.dest = dest;
  }
  if (wildcardPath.test(src) && out.dest !== undefined) return r.fail(node, `${where}.dest: not with a wildcard src (${show(entry.src.value)}); matches keep their paths`);
  return out;
}

const wildcardPath = /[*?[]/;

const pruneKeys = ["preset", "remove", "keep"] as const;
const presets = ["none", "safe", "aggressive"] as const;

function prune(r: YamlReader, node: Node | null, where: string): PruneSpec | undefined {
  if (node !== null && "value" in node) {
    const preset = r.oneOf(node, where, presets);
    return preset ? { preset, remove: [], keep: [] } : undefined;
  }
  const map = r.mapping(node, where);
  if (!map) return undefined;
  const out: PruneSpec = { preset: { value: "safe", range: r.range(node) }, remove: [], keep: [] };
  for (const { key, keyNode, value } of r.entries(map, where)) {
    if (key === "preset") {
      const p = r.oneOf(value, `${where}.preset`, presets);
      if (p) out.preset = p;
    } else if (key === "remove" || key === "keep") {
      out[key] = r.stringList(value, `${where}.${key}`);
    } else {
      r.unknownKey(keyNode, where, key, pruneKeys);
    }
  }
  return out;
}
