// Block-style YAML for plain data (maps, lists, strings, numbers, booleans), as the lock file is
// written. The yaml library's stringify took 70-100 ms for a 150-package lock in the solve step
// (a fresh process, where its general machinery runs cold); this writes the same text in ~2 ms.
// Strings are left plain only when no YAML reading (1.1 or 1.2) could take them for anything
// else; every other string is double-quoted with JSON's escapes, which YAML's double-quoted style
// accepts.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/**
 * Characters a plain scalar may hold after its first here: no ": " or trailing ":" (URLs are
 * fine), no " #" (a comment) or trailing space, nothing else that ends a block scalar.
 */
const safeChars = /^.(?:[A-Za-z0-9_./+*=<>,!|-]|:(?! |$)| (?!#|$))*$/;
/** Words YAML 1.1 or 1.2 reads as a boolean, null or special number. */
const reservedWords = /^(?:true|false|yes|no|on|off|y|n|null|nan|inf)$/i;
/** Ints and floats of YAML 1.1 and 1.2 (with 1.1's underscores), radix forms, dates, sexagesimals. */
const numberLike = /^[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$/;
const radixLike = /^[-+]?0[xXoObB]/;
const dateLike = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/;

/**
 * Safe to write unquoted: a name-like string that is not a reserved word, a constraint starting
 * with "=", or one starting with a digit that no YAML reading takes for a number, date or time
 * (3.12.1, 3.12.*, a hash like 6aa7b7...).
 */
function isPlain(s: string): boolean {
  if (!safeChars.test(s)) return false;
  if (/^[A-Za-z_]/.test(s)) return !reservedWords.test(s);
  if (s[0] === "=") return s !== "="; // a lone "=" is YAML 1.1's value key
  if (/^[0-9]/.test(s)) return !s.includes(":") && !numberLike.test(s) && !radixLike.test(s) && !dateLike.test(s);
  return false;
}

function scalar(value: string | number | boolean | null): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  return isPlain(value) ? value : JSON.stringify(value);
}

function isComposite(value: YamlValue): value is YamlValue[] | { [key: string]: YamlValue } {
  return typeof value === "object" && value !== null;
}

/** A value after `key:` or `- `: inline if it is a scalar or empty, else on the lines below. */
function lines(value: YamlValue, indent: string, out: string[], head: string): void {
  if (!isComposite(value)) {
    out.push(`${head} ${scalar(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    if (!value.length) return void out.push(`${head} []`);
    out.push(head);
    for (const item of value) listItem(item, indent + "  ", out);
    return;
  }
  const keys = Object.keys(value);
  if (!keys.length) return void out.push(`${head} {}`);
  out.push(head);
  for (const k of keys) entry(k, value[k]!, `${indent}  `, `${indent}  `, out);
}

/** YAML reads an implicit key (`key: value`) only when it is at most 1024 characters long. */
const maxImplicitKey = 1024;

/**
 * One `key: value` of a mapping, the key's line starting with `first` (its indentation, or a list
 * item's dash) and the entry's further lines indented by `rest`. A key longer than YAML reads
 * implicitly is written explicitly, as the yaml library does: `? key`, then `: value` below it.
 */
function entry(key: string, value: YamlValue, first: string, rest: string, out: string[]): void {
  const text = scalar(key);
  if (text.length <= maxImplicitKey) return lines(value, rest, out, `${first}${text}:`);
  out.push(`${first}? ${text}`);
  listItem(value, rest, out, `${rest}: `);
}

/**
 * A list item whose first line starts with `lead` (`- `, or `- - ` for a list in a list): a map
 * starts on the dash's line with its other keys under its first, as does a list.
 */
function listItem(item: YamlValue, indent: string, out: string[], lead = `${indent}- `): void {
  if (isComposite(item) && !Array.isArray(item) && Object.keys(item).length) {
    Object.keys(item).forEach((k, i) => entry(k, item[k]!, i === 0 ? lead : `${indent}  `, `${indent}  `, out));
    return;
  }
  if (Array.isArray(item) && item.length) {
    item.forEach((inner, i) => listItem(inner, indent + "  ", out, i === 0 ? `${lead}- ` : `${indent}  - `));
    return;
  }
  lines(item, indent, out, lead.trimEnd());
}

/** A top-level map as block YAML, one key per line, keys in the order given. */
export function writeYaml(doc: { [key: string]: YamlValue }): string {
  const out: string[] = [];
  for (const k of Object.keys(doc)) entry(k, doc[k]!, "", "", out);
  return out.join("\n") + "\n";
}
