// Source ops: where filesystems come from (an image, a local folder of the client, a download).
import type { PbEntry, PbOp, PbPlatform } from "./pb";
import type { Output, Vertex, VertexOptions } from "./vertex";

export class SourceVertex implements Vertex {
  readonly kind = "source";
  readonly inputs: readonly Output[] = [];
  constructor(
    readonly identifier: string,
    readonly attrs: Readonly<Record<string, string>>,
    readonly caps: readonly string[],
    readonly options: VertexOptions,
    readonly platform?: PbPlatform,
  ) {}

  toOp(): Omit<PbOp, "inputs" | "platform"> {
    const attrs: PbEntry<string>[] = Object.keys(this.attrs)
      .sort()
      .map((key) => ({ key, value: this.attrs[key]! }));
    return { source: attrs.length ? { identifier: this.identifier, attrs } : { identifier: this.identifier } };
  }

  requiredCaps(): string[] {
    return [...this.caps];
  }
}

export interface ImageSourceOptions extends VertexOptions {
  /** `sha256:...` manifest digest; pinning it makes the build reproducible. */
  digest?: string;
  resolveMode?: "default" | "pull" | "local";
  /** How BuildKit files the pulled image in its cache (`docker buildx du`); regular when unset. */
  recordType?: "internal";
}

/** `docker-image://<ref>[@digest]`. `ref` must already be normalised (see image/reference.ts). */
export function imageSource(ref: string, platform: PbPlatform, opts: ImageSourceOptions = {}): SourceVertex {
  const { digest, resolveMode, recordType, ...vertexOptions } = opts;
  const pinned = digest ? `${ref.replace(/@sha256:[0-9a-f]{64}$/, "")}@${digest}` : ref;
  const attrs: Record<string, string> = {};
  const caps = ["source.image"];
  if (resolveMode && resolveMode !== "default") {
    attrs["image.resolvemode"] = resolveMode;
    caps.push("source.image.resolvemode");
  }
  if (recordType) attrs["image.recordtype"] = recordType;
  return new SourceVertex(`docker-image://${pinned}`, attrs, caps, { name: vertexOptions.name ?? `[base] ${ref}`, ...vertexOptions }, platform);
}

export interface OciLayoutSourceOptions extends VertexOptions {
  /** The session that holds the client's OCI layout store, and the store's id in it. */
  sessionId: string;
  storeId: string;
  /** `sha256:...` manifest digest to pin (the platform's, as resolved). */
  digest?: string;
  /**
   * Sent as `image.recordtype`. BuildKit (v0.13 to v0.32) reads no record type for OCI layout
   * sources; the attribute only makes a second vertex of the same image (see stages/image.ts baseProbe).
   */
  recordType?: "internal";
}

/**
 * `oci-layout://<ref>@digest`: an image from an OCI layout folder the client serves from its
 * session (buildx's --build-context NAME=oci-layout://...). `ref` names it only for the logs.
 */
export function ociLayoutSource(ref: string, platform: PbPlatform, opts: OciLayoutSourceOptions): SourceVertex {
  const { sessionId, storeId, digest, recordType, ...vertexOptions } = opts;
  const pinned = digest ? `${ref.replace(/@sha256:[0-9a-f]{64}$/, "")}@${digest}` : ref;
  const attrs: Record<string, string> = { "oci.session": sessionId, "oci.store": storeId };
  if (recordType) attrs["image.recordtype"] = recordType;
  return new SourceVertex(`oci-layout://${pinned}`, attrs, ["source.ocilayout"], { name: vertexOptions.name ?? `[base] ${ref}`, ...vertexOptions }, platform);
}

export interface LocalSourceOptions extends VertexOptions {
  sessionId?: string;
  include?: string[];
  exclude?: string[];
  /** Lets BuildKit reuse the previous transfer of the same local across builds. */
  sharedKeyHint?: string;
  followPaths?: string[];
}

/** A folder the client sends (`context`, `dockerfile`), filtered by patterns before transfer. */
export function localSource(name: string, opts: LocalSourceOptions = {}): SourceVertex {
  const { sessionId, include, exclude, sharedKeyHint, followPaths, ...vertexOptions } = opts;
  const attrs: Record<string, string> = {};
  const caps = ["source.local"];
  if (sessionId) {
    attrs["local.session"] = sessionId;
    caps.push("source.local.sessionid");
  }
  if (include?.length) {
    attrs["local.includepattern"] = JSON.stringify(include);
    caps.push("source.local.includepatterns");
  }
  if (exclude?.length) {
    attrs["local.excludepatterns"] = JSON.stringify(exclude);
    caps.push("source.local.excludepatterns");
  }
  if (followPaths?.length) {
    attrs["local.followpaths"] = JSON.stringify(followPaths);
    caps.push("source.local.followpaths");
  }
  if (sharedKeyHint) {
    attrs["local.sharedkeyhint"] = sharedKeyHint;
    caps.push("source.local.sharedkeyhint");
  }
  return new SourceVertex(`local://${name}`, attrs, caps, { name: `[local] ${name}`, ...vertexOptions });
}

export interface HttpSourceOptions extends VertexOptions {
  /** `sha256:<hex>`: BuildKit verifies the download and caches it by this digest. */
  checksum?: string;
  filename?: string;
  perm?: number;
  uid?: number;
  gid?: number;
  /**
   * The name of a BuildKit secret holding the Authorization header's value, sent with the
   * request (BuildKit v0.21+, cap source.http.auth). Only the name enters the LLB.
   */
  authHeaderSecret?: string;
}

export function httpSource(url: string, opts: HttpSourceOptions = {}): SourceVertex {
  if (!/^https?:\/\//.test(url)) throw new Error(`http source needs an http(s) URL, got ${JSON.stringify(url)}`);
  const { checksum, filename, perm, uid, gid, authHeaderSecret, ...vertexOptions } = opts;
  const attrs: Record<string, string> = {};
  const caps = ["source.http"];
  if (checksum) {
    if (!/^sha256:[0-9a-f]{64}$/.test(checksum)) throw new Error(`http checksum must be sha256:<64 hex>, got ${JSON.stringify(checksum)}`);
    attrs["http.checksum"] = checksum;
    caps.push("source.http.checksum");
  }
  if (filename) attrs["http.filename"] = filename;
  if (perm !== undefined) {
    attrs["http.perm"] = "0" + perm.toString(8);
    caps.push("source.http.perm");
  }
  if (uid !== undefined) attrs["http.uid"] = String(uid);
  if (gid !== undefined) attrs["http.gid"] = String(gid);
  if (authHeaderSecret) {
    attrs["http.authheadersecret"] = authHeaderSecret;
    caps.push("source.http.auth");
  }
  if (uid !== undefined || gid !== undefined) caps.push("soruce.http.uidgid"); // sic: BuildKit's spelling
  return new SourceVertex(url, attrs, caps, { name: `[download] ${filename ?? url}`, ...vertexOptions });
}
