// Running arm64 programs in tests on an amd64 machine without binfmt_misc: the image's root
// filesystem is taken from the registry (never run as a container), Debian's static
// qemu-aarch64 (scripts/e2e/setup-qemu.sh, in .tools/qemu) is copied into it, and the program runs
// under that qemu in a chroot with a private /proc. Nothing is registered with the kernel, so a
// build can never run arm64 code "by accident": noBinfmtHandler() checks that before builds.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

/** Where scripts/e2e/setup-qemu.sh puts qemu-aarch64-static. */
export const qemuAarch64 = join(repo, ".tools", "qemu", "bin", "qemu-aarch64-static");

/** Where runForeign puts qemu inside a root filesystem. */
const qemuInRoot = "/.foreign-run/qemu-aarch64-static";

const binfmtDir = "/proc/sys/fs/binfmt_misc";

/** An aarch64 ELF header's identifying bytes, as a binfmt_misc magic would spell them (hex). */
const aarch64Magic = "7f454c460201010000000000000000000200b700";

/** binfmt_misc's registered handlers (name -> the kernel's description of it). */
export function binfmtHandlers(): Map<string, string> {
  const read = (dir: string): Map<string, string> =>
    new Map(
      readdirSync(dir)
        .filter((n) => n !== "register" && n !== "status")
        .map((n) => [n, readFileSync(join(dir, n), "utf8")]),
    );
  if (existsSync(join(binfmtDir, "register"))) return read(binfmtDir);
  // Not mounted here: registered handlers still work. Look in a mount namespace of our own (the
  // machine's mounts stay as they are), where binfmt_misc is mounted for the moment.
  const script = `mount -t binfmt_misc binfmt_misc ${binfmtDir} || exit 3; cd ${binfmtDir}; for f in *; do [ "$f" = register ] || [ "$f" = status ] || { printf '==%s\\n' "$f"; cat "$f"; }; done`;
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`cannot inspect binfmt_misc (${binfmtDir} is not mounted and mounting it in a private namespace failed: ${r.stderr.trim()}); run the tests as root`);
  }
  const out = new Map<string, string>();
  for (const block of r.stdout.split(/^==/m).filter(Boolean)) {
    const nl = block.indexOf("\n");
    out.set(block.slice(0, nl), block.slice(nl + 1));
  }
  return out;
}

/**
 * Throws if binfmt_misc has a handler that would run arm64 programs (a qemu interpreter, or the
 * aarch64 ELF magic), enabled or not: tests call it before arm64 builds, so that what they build
 * for linux/arm64 cannot have run any arm64 code.
 */
export function noBinfmtHandler(): void {
  const bad: string[] = [];
  for (const [name, text] of binfmtHandlers()) {
    const magic = /^magic (\S+)/m.exec(text)?.[1] ?? "";
    if (/qemu|aarch64|arm64/i.test(name) || /interpreter .*qemu/i.test(text) || magic.startsWith(aarch64Magic.slice(0, 36))) {
      bad.push(`${name} (${text.split("\n").filter(Boolean).join("; ")})`);
    }
  }
  if (bad.length) throw new Error(`binfmt_misc has handlers that would emulate arm64: ${bad.join(" | ")}; remove them (echo -1 > ${binfmtDir}/<name>)`);
}

// ---------------------------------------------------------------------------------------------
// An image's root filesystem, from the registry

export interface ImageRef {
  /** host:port of a plain-HTTP registry (127.0.0.1:5000). */
  registry: string;
  repository: string;
  /** A tag or a digest. */
  reference: string;
}

/** localhost:5000/distroless/base-debian12:nonroot -> its parts. */
export function parseRef(ref: string): ImageRef {
  const slash = ref.indexOf("/");
  if (slash < 0) throw new Error(`${ref}: expected <registry>/<repository>[:tag|@digest]`);
  const registry = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  return { registry, repository: rest, reference };
}

const manifestTypes = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

async function getJson(url: string): Promise<{ mediaType?: string; manifests?: Descriptor[]; layers?: Descriptor[]; config?: Descriptor }> {
  const res = await fetch(url, { headers: { accept: manifestTypes } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as { mediaType?: string; manifests?: Descriptor[]; layers?: Descriptor[]; config?: Descriptor };
}

/** The manifest digest of `ref` for `platform` ("linux/arm64"): its index's entry, or itself. */
export async function platformManifest(ref: string, platform: string): Promise<string> {
  const { registry, repository, reference } = parseRef(ref);
  const [os, architecture] = platform.split("/");
  const url = `http://${registry}/v2/${repository}/manifests/${reference}`;
  const res = await fetch(url, { method: "HEAD", headers: { accept: manifestTypes } });
  const top = await getJson(url);
  if (!top.manifests) {
    // a single-platform image: its config must say the platform
    const config = top.config;
    if (!config) throw new Error(`${ref}: neither an index nor an image manifest`);
    const c = (await (await fetch(`http://${registry}/v2/${repository}/blobs/${config.digest}`)).json()) as { os?: string; architecture?: string };
    if (c.os !== os || c.architecture !== architecture) throw new Error(`${ref} is a ${c.os}/${c.architecture} image, not ${platform}`);
    const digest = res.headers.get("docker-content-digest");
    if (!digest) throw new Error(`${ref}: the registry gave no Docker-Content-Digest`);
    return digest;
  }
  const hit = top.manifests.find((m) => m.platform?.os === os && m.platform?.architecture === architecture);
  if (!hit) throw new Error(`${ref} has no ${platform} manifest (it has ${top.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(", ")})`);
  return hit.digest;
}

/**
 * Writes the root filesystem of `ref` for `platform` (e.g. "linux/arm64") into `dest` (emptied
 * first): the platform's layers, bottom first, extracted as root so owners and modes are kept.
 * Whiteouts (.wh.*) are applied. Nothing of the image is run. Returns the manifest digest used.
 */
export async function imageRootfs(ref: string, platform: string, dest: string): Promise<string> {
  const { registry, repository } = parseRef(ref);
  const digest = await platformManifest(ref, platform);
  const manifest = await getJson(`http://${registry}/v2/${repository}/manifests/${digest}`);
  if (!manifest.layers) throw new Error(`${ref}@${digest}: not an image manifest`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const layer of manifest.layers) {
    const res = await fetch(`http://${registry}/v2/${repository}/blobs/${layer.digest}`);
    if (!res.ok) throw new Error(`${ref}: layer ${layer.digest}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const gz = layer.mediaType.endsWith("gzip");
    const listing = spawnSync("tar", [gz ? "-tz" : "-t"], { input: bytes, encoding: "utf8", maxBuffer: 1 << 28 });
    if (listing.status !== 0) throw new Error(`${ref}: layer ${layer.digest}: ${listing.stderr}`);
    for (const entry of listing.stdout.split("\n").filter(Boolean)) {
      const base = entry.replace(/\/$/, "").split("/").pop()!;
      if (!base.startsWith(".wh.")) continue;
      const dir = join(dest, entry.slice(0, entry.length - base.length));
      if (base === ".wh..wh..opq") for (const n of existsSync(dir) ? readdirSync(dir) : []) rmSync(join(dir, n), { recursive: true, force: true });
      else rmSync(join(dir, base.slice(4)), { recursive: true, force: true });
    }
    const x = spawnSync("tar", [gz ? "-xz" : "-x", "--same-owner", "--same-permissions", "--exclude=.wh.*", "--exclude=*/.wh.*", "-C", dest], { input: bytes, maxBuffer: 1 << 28 });
    if (x.status !== 0) throw new Error(`${ref}: layer ${layer.digest}: ${x.stderr.toString()}`);
  }
  return digest;
}

// ---------------------------------------------------------------------------------------------
// Running

export interface ForeignRunOptions {
  /** The program's whole environment (nothing of ours is passed on). Default: PATH only. */
  env?: Record<string, string>;
  /** "uid:gid" or a uid (gid the same). Default 65532:65532, the images' nonroot user. */
  user?: string | number;
  /** Working directory inside the root filesystem. Default "/". */
  cwd?: string;
  /** Default 120 s. */
  timeoutMs?: number;
}

export interface ForeignRunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `argv` (argv[0] a path inside `rootfs`, an aarch64 program) under qemu-aarch64-static, in
 * a chroot of `rootfs` with its own mount and pid namespaces and /proc, as `user`. The qemu binary
 * is copied into the root filesystem (/.foreign-run/) first. Needs root (chroot, mounts).
 */
export function runForeign(rootfs: string, argv: string[], opts: ForeignRunOptions = {}): ForeignRunResult {
  if (!existsSync(qemuAarch64)) throw new Error(`${qemuAarch64} is missing: run scripts/e2e/setup-qemu.sh`);
  if (!argv.length || !argv[0]!.startsWith("/")) throw new Error(`runForeign: argv[0] must be an absolute path inside the root filesystem, got ${JSON.stringify(argv[0])}`);
  const root = resolve(rootfs);
  const inRoot = join(root, qemuInRoot);
  mkdirSync(join(inRoot, ".."), { recursive: true });
  copyFileSync(qemuAarch64, inRoot);
  chmodSync(inRoot, 0o755);
  mkdirSync(join(root, "proc"), { recursive: true });
  const [uid, gid] = String(opts.user ?? "65532:65532").split(":");
  const args = [
    "--mount", "--pid", "--fork", "--propagation", "private",
    `--root=${root}`, `--wd=${opts.cwd ?? "/"}`, "--mount-proc=/proc",
    "--setgid", gid ?? uid!, "--setuid", uid!,
    qemuInRoot, ...argv,
  ];
  const unshare = ["/usr/bin/unshare", "/bin/unshare"].find((p) => existsSync(p));
  if (!unshare) throw new Error("runForeign: util-linux's unshare is missing");
  const r = spawnSync(unshare, args, {
    env: opts.env ?? { PATH: "/usr/local/bin:/usr/bin:/bin" },
    encoding: "utf8",
    maxBuffer: 1 << 26,
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.error) throw new Error(`runForeign ${argv.join(" ")}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
