// Pruning while installing: paths (relative to the prefix) that a preset or the user's globs
// exclude are never written, so no layer carries them. Globs: `*` within one path segment, `**`
// across segments, `?`, `[abc]`, `{a,b}`; a pattern without `/` matches the file name anywhere.

export class GlobError extends Error {}

export interface PruneRule {
  /** As shown in reports: the glob itself. */
  glob: string;
  test(path: string): boolean;
}

function escape(c: string): string {
  return /[.+^$()|\\]/.test(c) ? `\\${c}` : c;
}

/** A glob as an anchored regular expression over a relative path. */
export function globToRegExp(glob: string): RegExp {
  if (!glob || glob.startsWith("/") || glob.includes("\0")) throw new GlobError(`invalid glob ${JSON.stringify(glob)}: it must be a non-empty path relative to the prefix`);
  const anywhere = !glob.includes("/");
  let re = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slash = glob[i + 2] === "/";
        re += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) throw new GlobError(`invalid glob ${JSON.stringify(glob)}: unclosed [`);
      const body = glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
      if (!body || body === "^") throw new GlobError(`invalid glob ${JSON.stringify(glob)}: empty []`);
      re += `[${body}]`;
      i = end;
    } else if (c === "{") {
      braces++;
      re += "(?:";
    } else if (c === "}") {
      if (!braces) throw new GlobError(`invalid glob ${JSON.stringify(glob)}: } without {`);
      braces--;
      re += ")";
    } else if (c === "," && braces) re += "|";
    else re += escape(c);
  }
  if (braces) throw new GlobError(`invalid glob ${JSON.stringify(glob)}: unclosed {`);
  // A folder pattern also covers everything below it.
  return new RegExp(`^${anywhere ? "(?:.*/)?" : ""}${re}(?:/.*)?$`);
}

export function rule(glob: string): PruneRule {
  const re = globToRegExp(glob);
  return { glob, test: (path) => re.test(path) };
}

/** Never pruned, whatever the rules say: CA certificates, tzdata, what activation reads. */
export const protectedGlobs = ["ssl/**", "share/zoneinfo/**", "etc/conda/**", "conda-meta/**"];

/**
 * safe: never breaks a running program (compile-time files, docs, sanitizer runtimes, IDLE).
 * aggressive: smaller still; each rule can break something (see the README's table).
 */
export const presets = {
  none: [] as string[],
  safe: [
    "*.a",
    "*.js.map",
    "lib/lib[atlu]san.so*",
    "include/**",
    "lib/python*/idlelib/**",
    "lib/python*/ensurepip/**",
    "lib/python*/lib2to3/tests/**",
    "lib/python*/site-packages/**/*.pyx",
    "lib/python*/site-packages/**/*.c",
    "lib/python*/site-packages/**/*.h",
    "share/doc/**",
    "share/man/**",
    "share/info/**",
    "share/gtk-doc/**",
  ],
  aggressive: [] as string[],
};
presets.aggressive = [
  ...presets.safe,
  "**/__pycache__/**",
  "lib/libpython*.so*",
  "lib/python*/site-packages/pip/**",
  "bin/pip",
  "bin/pip3",
  "share/terminfo/**",
  "share/locale/**",
  "bin/sqlite3",
  "bin/openssl",
  "lib/python*/site-packages/{numpy,scipy,pandas}/**/tests/**",
];

export interface PrunePolicy {
  remove: string[];
  keep: string[];
}

export interface Pruner {
  /** The rule that removes `path`, or undefined when it is installed. */
  removedBy(path: string): string | undefined;
}

export function pruner(policy: PrunePolicy): Pruner {
  const remove = policy.remove.map(rule);
  const keep = [...policy.keep, ...protectedGlobs].map(rule);
  return {
    removedBy(path) {
      const hit = remove.find((r) => r.test(path));
      if (!hit || keep.some((k) => k.test(path))) return undefined;
      return hit.glob;
    },
  };
}

/** Whether the rules remove compiled .pyc files (then compiling them would be wasted work). */
export function removesPyc(policy: PrunePolicy): boolean {
  return pruner(policy).removedBy("lib/python3/x/__pycache__/x.cpython-3.pyc") !== undefined;
}
