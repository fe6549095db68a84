// Docker image references: normalising what users write (`python:3.12`, `ghcr.io/o/i`) into the
// fully qualified form BuildKit's image source takes (`docker.io/library/python:3.12`).

export interface ImageReference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export function parseReference(text: string): ImageReference {
  const bad = (why: string) => new Error(`invalid image reference ${JSON.stringify(text)}: ${why}`);
  if (text.trim() !== text || text === "") throw bad("empty or surrounded by spaces");
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw bad("the digest must be sha256:<64 hex digits>");
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split("/");
  let domain = "docker.io";
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    domain = first;
    parts.shift();
  }
  if (domain === "docker.io" && parts.length === 1) parts.unshift("library");
  for (const p of parts) if (!component.test(p)) throw bad(`invalid name component ${JSON.stringify(p)} (lower case letters, digits, . _ -)`);
  return { domain, path: parts.join("/"), tag: tag ?? (digest ? undefined : "latest"), digest };
}

export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag ? ":" + ref.tag : ""}${ref.digest ? "@" + ref.digest : ""}`;
}

export function normalizeReference(text: string): string {
  return formatReference(parseReference(text));
}
