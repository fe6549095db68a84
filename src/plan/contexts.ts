// Named build contexts (`docker buildx build --build-context NAME=...`). buildx sends each as the
// frontend option `context:NAME` with a source specifier, as BuildKit's Dockerfile frontend reads
// them (frontend/dockerui/namedcontext.go): `docker-image://<ref>` for an image, `local:<name>`
// for a folder of the client sent as a local of that name, `oci-layout://<store>@<digest>` for an
// OCI layout folder, `input:<name>` for a frontend input, git and http(s) URLs. This frontend
// takes images (from a registry or an OCI layout) and local folders; the rest is refused with an
// error naming the context.
import { normalizeReference } from "../image/reference";
import { isContextName } from "../input/context-name";

/** A named context this frontend can read, as plain data (it goes into plan.json). */
export type NamedContext =
  /** An image's filesystem (and, for `base`, its config). `ref` is normalised. */
  | { kind: "image"; ref: string }
  /** A folder of the client, sent as the local `local` (in session `sessionId` when buildx names one). */
  | { kind: "local"; local: string; sessionId?: string }
  /**
   * An image in an OCI layout folder the client serves from the build's session: the store's id
   * and the image's (index or manifest) digest. `ref` is `<context name>@<digest>`, normalised: a
   * name for the logs, as BuildKit's Dockerfile frontend makes one.
   */
  | { kind: "oci-layout"; store: string; digest: string; ref: string };

export class ContextError extends Error {}


/** Why a source kind is refused, for the error. */
const unsupported: Record<string, string> = {
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
  if (kind === "oci-layout") return ociLayoutContext(name, rest.replace(/^\/\//, ""), bad);
  if (kind === "local") {
    // The local's name is ours to put into a source op: the same rule as context names.
    if (!isContextName(rest)) throw bad(`invalid local name ${JSON.stringify(rest)}`);
    const sessionId = localSessions[rest];
    return sessionId ? { kind: "local", local: rest, sessionId } : { kind: "local", local: rest };
  }
  throw bad(unsupported[kind] ?? `unsupported source ${JSON.stringify(kind + ":")}; pass a folder or docker-image://<ref>`);
}

/** A reference's name: what buildx's OCI store id must look like to be one. */
const storeName = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** `<store id>[:tag]@sha256:<hex>`, as buildx sends an OCI layout folder. */
function ociLayoutContext(name: string, spec: string, bad: (why: string) => ContextError): NamedContext {
  const at = spec.indexOf("@");
  const digest = at >= 0 ? spec.slice(at + 1) : "";
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw bad(`oci-layout reference ${JSON.stringify(spec)} has no sha256 digest`);
  const named = spec.slice(0, at);
  const colon = named.lastIndexOf(":");
  const store = colon > named.lastIndexOf("/") ? named.slice(0, colon) : named;
  if (!storeName.test(store)) throw bad(`invalid OCI layout store ${JSON.stringify(store)}`);
  let ref: string;
  try {
    ref = normalizeReference(`${name.toLowerCase()}@${digest}`);
  } catch (e) {
    throw bad(`cannot name the image for the logs: ${(e as Error).message}`);
  }
  return { kind: "oci-layout", store, digest, ref };
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
