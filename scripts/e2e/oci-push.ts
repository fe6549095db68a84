// Pushes an image made of given layer tarballs to a registry over the distribution HTTP API,
// byte-for-byte reproducibly: fixed config, fixed gzip level, sorted tar entries (made by the
// caller). Same inputs -> same manifest digest, so caches built on these images stay valid.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export interface ImageToPush {
  registry: string; // host:port, plain HTTP
  repository: string;
  tag: string;
  layers: Buffer[]; // uncompressed tars, bottom first
  config: {
    architecture: string;
    os: string;
    /** Only for arm64 ("v8"); absent from the config when not set (amd64's config is unchanged). */
    variant?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    User?: string;
    WorkingDir?: string;
    Labels?: Record<string, string>;
  };
}

const sha = (b: Buffer) => "sha256:" + createHash("sha256").update(b).digest("hex");

async function pushBlob(base: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  const head = await fetch(`${base}/blobs/${digest}`, { method: "HEAD" });
  if (head.ok) return digest;
  const start = await fetch(`${base}/blobs/uploads/`, { method: "POST" });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
  const location = start.headers.get("location")!;
  const url = new URL(location, base);
  url.searchParams.set("digest", digest);
  const put = await fetch(url, { method: "PUT", body: data, headers: { "content-type": "application/octet-stream" } });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

/** A pushed manifest: what an image index lists. */
export interface PushedManifest {
  digest: string;
  size: number;
  platform: { architecture: string; os: string; variant?: string };
}

/**
 * Pushes the image's blobs and its manifest, under `img.tag` (or, with `byDigest`, only by its
 * digest: a member of an index). Returns the manifest's descriptor.
 */
export async function pushManifest(img: ImageToPush, opts: { byDigest?: boolean } = {}): Promise<PushedManifest> {
  const base = `http://${img.registry}/v2/${img.repository}`;
  const compressed = img.layers.map((l) => gzipSync(l, { level: 6 }));
  const diffIds = img.layers.map(sha);
  const { architecture, os, variant, ...runConfig } = img.config;
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os,
      ...(variant ? { variant } : {}),
      created: "2024-01-01T00:00:00Z",
      config: runConfig,
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "conda-frontend test base image" })),
    }),
  );
  const layerDescs = [];
  for (const c of compressed) layerDescs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await pushBlob(base, c), size: c.length });
  const configDigest = await pushBlob(base, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: layerDescs,
    }),
  );
  const digest = sha(manifest);
  const res = await fetch(`${base}/manifests/${opts.byDigest ? digest : img.tag}`, { method: "PUT", body: manifest, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  if (res.status !== 201) throw new Error(`manifest push: HTTP ${res.status} ${await res.text()}`);
  return { digest, size: manifest.length, platform: { architecture, os, ...(variant ? { variant } : {}) } };
}

export async function pushImage(img: ImageToPush): Promise<string> {
  return (await pushManifest(img)).digest;
}

/** Pushes an OCI image index of already pushed manifests under `tag`; returns its digest. */
export async function pushIndex(registry: string, repository: string, tag: string, manifests: PushedManifest[]): Promise<string> {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: manifests.map((m) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: m.digest, size: m.size, platform: m.platform })),
    }),
  );
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, { method: "PUT", body: index, headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
  if (res.status !== 201) throw new Error(`index push: HTTP ${res.status} ${await res.text()}`);
  return sha(index);
}
