// What a package's name, version, build and file name may be before they become part of a path
// (conda-meta/<name>-<version>-<build>.json, the step's report, the downloaded file's name): one
// plain path segment, no "/" or "\", not "." or "..", no NUL or control characters, not absurdly
// long. The lock, repodata and the archive's own info/index.json are all the package author's or
// the lock writer's word.

export const maxNameLength = 255;

/** Why `value` cannot be part of a file name, or undefined when it can. */
export function unsafeNamePart(value: unknown): string | undefined {
  if (typeof value !== "string") return `it is ${value === null ? "null" : typeof value}, not a string`;
  if (value === "") return "it is empty";
  if (value.length > maxNameLength) return `it is ${value.length} characters long (at most ${maxNameLength})`;
  if (value === "." || value === "..") return "it is a relative folder name";
  if (/[/\\]/.test(value)) return "it contains a path separator";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return "it contains a control character";
  return undefined;
}

/** The name, version and build of an archive's file name: name-version-build.conda or .tar.bz2. */
export function splitArchiveFileName(filename: string): { name: string; version: string; build: string } | undefined {
  const stem = filename.replace(/\.(conda|tar\.bz2)$/, "");
  if (stem === filename) return undefined;
  const m = /^(.+)-([^-]+)-([^-]+)$/.exec(stem);
  return m ? { name: m[1]!, version: m[2]!, build: m[3]! } : undefined;
}
