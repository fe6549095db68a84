// Builds the images the tests need from Debian packages and npm's Node build, and pushes them to
// the local registry. Deterministic: sorted tar entries, fixed times and owners, fixed configs,
// so the digests are the same on every run (a new digest would invalidate every cached build).
//   localhost:5000/distroless/base-debian12:nonroot   glibc, libssl, CA certs, tzdata, user 65532, no shell
//   localhost:5000/distroless/nodejs24-debian12:latest  the above + libstdc++ + node at /nodejs/bin/node
//   localhost:5000/node:24-builder                      the above + coreutils + npm, for frontend.Dockerfile's build stage
//   localhost:5000/debian-busybox:12                    the base + busybox as /bin/sh (a base with a shell)
// The first and the last are multi-platform: an OCI index of linux/amd64 (the machine's packages,
// byte-identical to the single-platform images they were) and linux/arm64, made the same way from
// Debian's arm64 packages (downloaded through a private apt state; nothing runs them). Each
// platform's manifest is also tagged <tag>-amd64 / <tag>-arm64.
//   E2E_REGISTRY (localhost:5000), E2E_IMAGE_PREFIX (a folder to push under instead, e.g. for a check)
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, chmodSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { pack } from "tar-stream";
import { pushImage, pushIndex, pushManifest, type PushedManifest } from "./oci-push";
import { debianPackages } from "../../test/fixtures/channel/debian";

const root = join(import.meta.dirname, "..", "..");
const work = join(root, ".e2e", "base-images");
const registry = process.env.E2E_REGISTRY ?? "localhost:5000";
const prefix = process.env.E2E_IMAGE_PREFIX ? `${process.env.E2E_IMAGE_PREFIX.replace(/\/+$/, "")}/` : "";

/** The machine's architecture (its own apt) or arm64 (Debian's arm64 .debs, downloaded). */
type Arch = "amd64" | "arm64";

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

function debs(names: string[], arch: Arch = hostArch): string[] {
  if (arch !== hostArch) {
    const got = debianPackages(work, arch, names, (m) => console.error(`base-images: ${m}`));
    return names.map((n) => got.get(n)!.file);
  }
  const dir = join(work, "debs");
  mkdirSync(dir, { recursive: true });
  const have = readdirSync(dir);
  const missing = names.filter((n) => !have.some((f) => f.startsWith(n + "_")));
  if (missing.length) sh("apt-get", ["download", "-qq", ...missing], dir);
  const files = readdirSync(dir);
  return names.map((n) => join(dir, files.find((f) => f.startsWith(n + "_"))!));
}

function extract(debFiles: string[], into: string): void {
  for (const deb of debFiles) sh("dpkg-deb", ["-x", deb, into]);
  for (const junk of ["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/lintian", "usr/share/locale"]) rmSync(join(into, junk), { recursive: true, force: true });
}

/** A tar of `dir`, entries sorted, mtime 0, owner root unless `owners` says otherwise. */
async function tarOf(dir: string, owners: Record<string, number> = {}): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = lstatSync(full);
      const id = owners[path] ?? 0;
      const common = { name: path, mode: st.mode & 0o7777, uid: id, gid: id, mtime: new Date(0) };
      if (st.isSymbolicLink()) p.entry({ ...common, type: "symlink", linkname: readlinkSync(full) });
      else if (st.isDirectory()) {
        p.entry({ ...common, type: "directory" });
        walk(path);
      } else p.entry({ ...common, type: "file" }, readFileSync(full));
    }
  };
  walk("");
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The work folder of a layer: rootfs-<name> for the machine's architecture, rootfs-<name>-<arch> otherwise. */
function rootfs(name: string, arch: Arch): string {
  return fresh(arch === hostArch ? `rootfs-${name}` : `rootfs-${name}-${arch}`);
}

function fresh(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function baseLayer(arch: Arch = hostArch): Promise<Buffer> {
  const dir = rootfs("base", arch);
  const baseDebs = debs(["base-files", "netbase", "tzdata", "libc6", "libssl3", "ca-certificates", "zlib1g"], arch);
  extract(baseDebs, dir);
  // Like distroless: each package's control record in /var/lib/dpkg/status.d (SBOM scanners and
  // the frontend's glibc detection read it).
  mkdirSync(join(dir, "var/lib/dpkg/status.d"), { recursive: true });
  for (const deb of baseDebs) {
    const control = sh("dpkg-deb", ["-f", deb]);
    const name = /^Package: (\S+)/m.exec(control)![1]!;
    writeFileSync(join(dir, "var/lib/dpkg/status.d", name), control.replace(/\n*$/, "\nStatus: install ok installed\n"));
  }
  // What update-ca-certificates would write: one bundle of every certificate, in a fixed order.
  const certDir = join(dir, "usr/share/ca-certificates/mozilla");
  const bundle = readdirSync(certDir).sort().map((f) => readFileSync(join(certDir, f), "utf8")).join("");
  mkdirSync(join(dir, "etc/ssl/certs"), { recursive: true });
  writeFileSync(join(dir, "etc/ssl/certs/ca-certificates.crt"), bundle);
  rmSync(join(dir, "usr/sbin"), { recursive: true, force: true });
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
  writeFileSync(join(dir, "etc/group"), "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n");
  for (const d of ["tmp", "home/nonroot", "root"]) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  chmodSync(join(dir, "home/nonroot"), 0o700);
  chmodSync(join(dir, "root"), 0o700);
  // Debian's usrmerge links, as the distroless images have them.
  for (const l of ["bin", "lib", "lib64", "sbin"]) if (!existsSync(join(dir, l)) && existsSync(join(dir, "usr", l))) symlinkSync(`usr/${l}`, join(dir, l));
  return tarOf(dir, { "home/nonroot": 65532 });
}

function nodeDir(): string {
  const bin = sh("bash", [join(root, "scripts/setup-node.sh")]).trim();
  return join(bin, "..");
}

async function nodeLayer(): Promise<Buffer> {
  const dir = fresh("rootfs-node");
  extract(debs(["libgcc-s1", "libstdc++6"]), dir);
  mkdirSync(join(dir, "nodejs/bin"), { recursive: true });
  writeFileSync(join(dir, "nodejs/bin/node"), readFileSync(join(nodeDir(), "bin/node")));
  chmodSync(join(dir, "nodejs/bin/node"), 0o755);
  return tarOf(dir);
}

/** busybox as /bin/sh: a base with a shell, for what needs one (post-link scripts). */
async function shellLayer(arch: Arch = hostArch): Promise<Buffer> {
  const dir = rootfs("shell", arch);
  extract(debs(["busybox-static"], arch), dir);
  // Bookworm's base-files has a real /bin (not usrmerged), where busybox-static puts busybox.
  for (const tool of ["sh", "mkdir", "cat", "echo", "ls"]) symlinkSync("busybox", join(dir, "bin", tool));
  return tarOf(dir);
}

async function builderLayer(): Promise<Buffer> {
  const dir = fresh("rootfs-builder");
  extract(debs(["coreutils", "libacl1", "libattr1", "libselinux1", "libpcre2-8-0", "libgmp10"]), dir);
  // npm from the npm registry, laid out as in the official node images.
  const tgz = sh("npm", ["pack", "--silent", "npm@11"], work).trim().split("\n").pop()!;
  mkdirSync(join(dir, "usr/local/lib/node_modules"), { recursive: true });
  sh("tar", ["-xzf", join(work, tgz), "-C", join(dir, "usr/local/lib/node_modules")]);
  rmSync(join(work, tgz));
  execFileSync("mv", [join(dir, "usr/local/lib/node_modules/package"), join(dir, "usr/local/lib/node_modules/npm")]);
  mkdirSync(join(dir, "usr/local/bin"), { recursive: true });
  symlinkSync("/nodejs/bin/node", join(dir, "usr/local/bin/node"));
  symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(dir, "usr/local/bin/npm"));
  return tarOf(dir);
}

const path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string] ?? process.arch;
const hostArch: Arch = arch === "arm64" ? "arm64" : "amd64";
const otherArch: Arch = hostArch === "amd64" ? "arm64" : "amd64";
/** arm64 images say variant v8 (as Docker's do); amd64's config has no variant key. */
const variant = (a: Arch): { variant?: string } => (a === "arm64" ? { variant: "v8" } : {});

type Config = Parameters<typeof pushImage>[0]["config"];

/**
 * One image for both platforms: each platform's manifest (also tagged <tag>-<arch>), then an OCI
 * index of the two, amd64 first, under `tag`. Returns the digests.
 */
async function pushBoth(repository: string, tag: string, layers: Record<Arch, Buffer[]>, config: (a: Arch) => Config): Promise<{ index: string } & Record<Arch, string>> {
  const pushed: PushedManifest[] = [];
  for (const a of ["amd64", "arm64"] as const) {
    const m = await pushManifest({ registry, repository, tag: `${tag}-${a}`, layers: layers[a], config: config(a) });
    pushed.push(m);
  }
  const index = await pushIndex(registry, repository, tag, pushed);
  return { index, amd64: pushed[0]!.digest, arm64: pushed[1]!.digest };
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const base = await baseLayer();
  const baseOther = await baseLayer(otherArch);
  const baseLayers = { [hostArch]: base, [otherArch]: baseOther } as Record<Arch, Buffer>;
  const d1 = await pushBoth(`${prefix}distroless/base-debian12`, "nonroot", { amd64: [baseLayers.amd64], arm64: [baseLayers.arm64] }, (a) => ({
    architecture: a, os: "linux", ...variant(a), Env: [`PATH=${path}`, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"], User: "65532", WorkingDir: "/home/nonroot",
  }));
  console.log(`${registry}/${prefix}distroless/base-debian12:nonroot@${d1.index} (linux/amd64 ${d1.amd64}, linux/arm64 ${d1.arm64})`);
  const node = await nodeLayer();
  const d2 = await pushImage({
    registry, repository: `${prefix}distroless/nodejs24-debian12`, tag: "latest", layers: [base, node],
    config: { architecture: arch, os: "linux", Env: [`PATH=${path}`, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"], Entrypoint: ["/nodejs/bin/node"] },
  });
  console.log(`${registry}/${prefix}distroless/nodejs24-debian12:latest@${d2}`);
  const shell = await shellLayer();
  const shellOther = await shellLayer(otherArch);
  const shellLayers = { [hostArch]: shell, [otherArch]: shellOther } as Record<Arch, Buffer>;
  const d4 = await pushBoth(`${prefix}debian-busybox`, "12", { amd64: [baseLayers.amd64, shellLayers.amd64], arm64: [baseLayers.arm64, shellLayers.arm64] }, (a) => ({
    architecture: a, os: "linux", ...variant(a), Env: [`PATH=${path}`], User: "65532",
  }));
  console.log(`${registry}/${prefix}debian-busybox:12@${d4.index} (linux/amd64 ${d4.amd64}, linux/arm64 ${d4.arm64})`);
  const builder = await builderLayer();
  const d3 = await pushImage({
    registry, repository: `${prefix}node`, tag: "24-builder", layers: [base, node, builder],
    config: { architecture: arch, os: "linux", Env: [`PATH=${path}:/nodejs/bin`], WorkingDir: "/" },
  });
  console.log(`${registry}/${prefix}node:24-builder@${d3}`);
}

await main();
