// Private channels. The credential never enters the LLB, a layer or the cache key: it is the
// BuildKit secret `conda-auth` (`docker buildx build --secret id=conda-auth,env=CONDA_AUTH`),
// holding the value of the Authorization header (`Bearer <token>`, `Basic <base64>`), the
// form BuildKit itself sends when it downloads with a secret (v0.21+). Our own steps also accept
// HTTP header lines (`Name: value`, one per line) for channels that want other headers; those
// only work where our steps do the downloading (BuildKit before v0.21). The secret is mounted
// only into the steps that fetch from the channels listed in image.private-channels.
import { readFileSync } from "node:fs";

export const authSecretId = "conda-auth";
export const authSecretPath = "/run/secrets/conda-auth";

export class AuthError extends Error {}

/** An HTTP header line: a token (RFC 9110's tchar), a colon, the value. */
const headerLine = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+:/;

/** The secret's headers as name/value pairs: the Authorization header's value, or header lines. */
export function readAuthHeaders(path = authSecretPath): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new AuthError(`the ${authSecretId} secret is not there: pass it with --secret id=${authSecretId},env=<variable holding the Authorization header's value, such as "Bearer <token>">`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  if (lines.length === 1 && !headerLine.test(lines[0]!.trim())) return [["Authorization", lines[0]!.trim()]];
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || !headerLine.test(line)) throw new AuthError(`the ${authSecretId} secret must hold the Authorization header's value (one line, such as "Bearer <token>") or HTTP header lines ("Name: value"); one of its ${lines.length} lines is neither`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  if (!headers.length) throw new AuthError(`the ${authSecretId} secret is empty`);
  return headers;
}

export function isPrivate(url: string, privateChannels: readonly string[]): boolean {
  return privateChannels.some((c) => url === c || url.startsWith(c.endsWith("/") ? c : `${c}/`));
}
