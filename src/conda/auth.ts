// Private channels. The credential never enters the LLB, a layer or the cache key: it is the
// BuildKit secret \`conda-auth\` (\`docker buildx build --secret id=conda-auth,src=header.txt\`),
// holding HTTP header lines such as \`Authorization: Bearer <token>\`, mounted only into the steps
// that fetch from the channels listed in image.private-channels.
import { readFileSync } from "node:fs";

export const authSecretId = "conda-auth";
export const authSecretPath = "/run/secrets/conda-auth";

export class AuthError extends Error {}

/** The secret's header lines as name/value pairs. */
export function readAuthHeaders(path = authSecretPath): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new AuthError(`the ${authSecretId} secret is not there: pass it with --secret id=${authSecretId},src=<file with a header line such as "Authorization: Bearer <token>">`);
  }
  const headers: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new AuthError(`the ${authSecretId} secret must hold HTTP header lines ("Name: value"); one line has no colon`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  if (!headers.length) throw new AuthError(`the ${authSecretId} secret is empty`);
  return headers;
}

export function isPrivate(url: string, privateChannels: readonly string[]): boolean {
  return privateChannels.some((c) => url === c || url.startsWith(c.endsWith("/") ? c : `${c}/`));
}
