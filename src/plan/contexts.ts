// Named build contexts (`docker buildx build --build-context NAME=...`). buildx sends each as the
// frontend option `context:NAME` with a source specifier, as BuildKit's Dockerfile frontend reads
// them (frontend/dockerui/namedcontext.go): `docker-image://<ref>` for an image, `local:<name>`
// for a folder of the client sent as a local of that name, `oci-layout://<store>@<digest>` for an
// OCI layout folder, `input:<name>` for a frontend input, git and http(s) URLs. This frontend
// takes images and local folders; the rest is refused with an error naming the context.
import { normalizeReference } from "../image/reference";
import { isContextName } from "../input/context-name";

/** A named context this frontend can read, as plain data (it goes into plan.json). */
export type NamedContext =
  /** An image's filesystem (and, for `base`, its config). `ref` is normalised. */
  | { kind: "image"; ref: string }
  /** A folder of the client, sent as the local `local` (in session `sessionId` when buildx names one). */
  | { kind: "local"; local: string; sessionId?: string };

export class ContextError extends Error {}


/** Why a source kind is refused, for the error. */
const unsupported: Record<string, string> = {
  "oci-layout": "OCI layout folders (oci-layout://) are not supported yet; push the image to a registry and pass docker-image://<ref>",
  input: "frontend inputs (input:, e.g. another bake target) are not supported yet",
  git: "git sources are not supported; clone the repository and pass its folder",
  http: "URLs are not supported; download the file and pass its folder",
  https: "URLs are not supported; download the file and pass its folder",
};

/**
 * Reads one `context:NAME` value. `localSessions` holds buildx's `local-sessionid:NAME` options
 * (a local sent in a session other than the build's own).
 */
export function parseNamedContext(name: string, value: string, localSessions: Record<string, string> = {}): NamedContext {
  const bad = (why: string) => new ContextError(`build context ${JSON.stringify(name)}: ${why}`);
  const colon = value.indexOf(":");
  if (colon <= 0) throw bad(`expected docker-image://<ref> or a folder, got ${JSON.stringify(value)}`);
  const kind = value.slice(0, colon).startsWith("git@") ? "git" : value.slice(0, colon);
  const rest = value.slice(colon + 1);
  if (kind === "docker-image") {
    const ref = rest.replace(/^\/\//, "");
    try {
      return { kind: "image", ref: normalizeReference(ref) };
    } catch (e) {
      throw bad((e as Error).message);
    }
  }
  if (kind === "local") {
    // The local's name is ours to put into a source op: the same rule as context names.
    if (!isContextName(rest)) throw bad(`invalid local name ${JSON.stringify(rest)}`);
    const sessionId = localSessions[rest];
    return sessionId ? { kind: "local", local: rest, sessionId } : { kind: "local", local: rest };
  }
  throw bad(unsupported[kind] ?? `unsupported source ${JSON.stringify(kind + ":")}; pass a folder or docker-image://<ref>`);
}

/** The `context:NAME` options, by name. Platform-qualified ones (`NAME::os/arch`) are Dockerfile FROM overrides we have no use for. */
export function contextOptions(raw: Record<string, string>): Record<string, string> {
  // fromEntries defines own properties: a name like "__proto__" stays a plain key.
  return Object.fromEntries(Object.entries(raw).filter(([k]) => k.startsWith("context:") && !k.includes("::")).map(([k, v]) => [k.slice("context:".length), v]));
}

/** buildx's `local-sessionid:NAME` options. */
export function localSessionOptions(raw: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(raw).filter(([k, v]) => k.startsWith("local-sessionid:") && v).map(([k, v]) => [k.slice("local-sessionid:".length), v]));
}
