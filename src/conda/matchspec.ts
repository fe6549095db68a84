// Conda match specs as users write them in environment.yml: `python=3.12`, `numpy>=1.26,<2`,
// `conda-forge::pkg`, `pkg 1.2.* py312*`, `pkg[version='>=1', build=py*]`. We only need to
// check the syntax early (so the error points at the line) and know the package name and channel;
// the solver interprets the rest.

export interface MatchSpec {
  /** As written, trimmed. */
  text: string;
  name: string;
  channel?: string;
  /** The spec without the channel prefix, as the solver takes it. */
  solverSpec: string;
}

const namePattern = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const versionChars = /^[A-Za-z0-9_.+*!<>=~|,]+$/;

export class MatchSpecError extends Error {}

export function parseMatchSpec(raw: string): MatchSpec {
  const text = raw.trim();
  if (!text) throw new MatchSpecError("empty package spec");
  let rest = text;
  let channel: string | undefined;
  // The channel ends at the first "::" before any [options]: a quoted option value may hold "::".
  const sep = rest.indexOf("::");
  const firstOpen = rest.indexOf("[");
  if (sep >= 0 && (firstOpen < 0 || sep < firstOpen)) {
    channel = rest.slice(0, sep);
    rest = rest.slice(sep + 2);
    if (!channel || /\s/.test(channel)) throw new MatchSpecError(`invalid channel in ${JSON.stringify(text)}`);
  }
  // Bracket options: name[key=value, ...]
  let brackets = "";
  const open = rest.indexOf("[");
  if (open >= 0) {
    if (!rest.endsWith("]")) throw new MatchSpecError(`unclosed [ in ${JSON.stringify(text)}`);
    brackets = rest.slice(open + 1, -1);
    rest = rest.slice(0, open);
    for (const part of brackets.split(",").map((p) => p.trim()).filter(Boolean)) {
      if (!/^[a-z_]+\s*=\s*("[^"]*"|'[^']*'|[^'"\s]+)$/.test(part)) throw new MatchSpecError(`invalid option ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
    }
  }
  rest = rest.trim();
  // Split the name from the version: at the first space or operator.
  const m = /^([^\s=<>!~]+)\s*(.*)$/.exec(rest);
  if (!m) throw new MatchSpecError(`no package name in ${JSON.stringify(text)}`);
  const name = m[1]!;
  const tail = m[2]!.trim();
  if (!namePattern.test(name)) throw new MatchSpecError(`invalid package name ${JSON.stringify(name)} in ${JSON.stringify(text)}`);
  if (tail) {
    // `conda env export` writes name=version=build.
    const exported = /^=([^=<>!~,|\s]+)=([A-Za-z0-9_.+*]+)$/.exec(tail);
    if (exported) return { text, name: name.toLowerCase(), channel, solverSpec: rest + (brackets ? `[${brackets}]` : "") };
    if (/^=[<>]/.test(tail)) throw new MatchSpecError(`invalid version constraint ${JSON.stringify(tail)} in ${JSON.stringify(text)} (did you mean ${JSON.stringify(tail[1] + "=" + tail.slice(2))}?)`);
    const parts = tail.split(/\s+/);
    if (parts.length > 2) throw new MatchSpecError(`too many parts in ${JSON.stringify(text)}: expected "name version [build]"`);
    const version = parts[0]!;
    if (!versionChars.test(version)) throw new MatchSpecError(`invalid version ${JSON.stringify(version)} in ${JSON.stringify(text)}`);
    // Operators that do not exist (>=>1, <<2, =>3) are the usual typos.
    for (const clause of version.replace(/^=(?!=)/, "").split(/[,|]/)) {
      if (!/^(==|!=|>=|<=|~=|>|<|=)?[A-Za-z0-9_.+*!]+$/.test(clause)) throw new MatchSpecError(`invalid version constraint ${JSON.stringify(clause)} in ${JSON.stringify(text)}`);
    }
    if (parts[1] !== undefined && !/^[A-Za-z0-9_.+*]+$/.test(parts[1])) throw new MatchSpecError(`invalid build string ${JSON.stringify(parts[1])} in ${JSON.stringify(text)}`);
  }
  const solverSpec = (rest + (brackets ? `[${brackets}]` : "")).trim();
  return { text, name: name.toLowerCase(), channel, solverSpec };
}

/** The package name of a `depends` entry of a record (`libffi >=3.4,<4.0a0` -> `libffi`). */
export function dependencyName(dep: string): string {
  return dep.trim().split(/[\s=<>!~[]/, 1)[0]!.toLowerCase();
}

/** The constraint part of a `depends` entry, `*` when there is none. */
export function dependencyConstraint(dep: string): string {
  const name = dependencyName(dep);
  const rest = dep.trim().slice(name.length).trim();
  return rest || "*";
}
