// Asynchronous counterparts of harness.ts's docker() and build(), for builds that run at the same
// time (or while something samples the daemon), and a look into an image's files without running
// anything in it: `docker export` of a created container, read as a tar stream (the images are
// distroless: no shell, often no python).
import { spawn } from "node:child_process";
import { extract } from "tar-stream";
import { docker, type Engine, type Run } from "./harness";

function dockerEnv(engine: Engine): NodeJS.ProcessEnv {
  return { ...process.env, ...engine.env, DOCKER_HOST: engine.host, BUILDX_NO_DEFAULT_ATTESTATIONS: "1" };
}

export function dockerAsync(engine: Engine, args: string[], opts: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(engine.cli, args, { cwd: opts.cwd, env: dockerEnv(engine), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: stderr + e.message, output: stdout + stderr + e.message }));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, output: stdout + stderr }));
  });
}

/** `docker buildx build --progress=plain ...` in `dir`, without blocking the event loop. */
export function buildAsync(engine: Engine, dir: string, args: string[]): Promise<Run> {
  return dockerAsync(engine, ["buildx", "build", "--progress=plain", ...args], { cwd: dir });
}

export interface ImageEntry {
  /** Absolute path in the image, no trailing slash. */
  path: string;
  type: string;
  /** Permission bits, setuid/setgid/sticky included. */
  mode: number;
  size: number;
  linkname?: string;
  /** The contents, for the files `read` asked for. */
  data?: Buffer;
}

/**
 * The entries of an image's filesystem under `under` (e.g. "/opt/conda"), as `docker export`
 * writes them (modes as stored in the layers), with the contents of the files `read` selects.
 */
export async function imageEntries(engine: Engine, image: string, under: string, read: (path: string) => boolean = () => false): Promise<Map<string, ImageEntry>> {
  // Never started: the entrypoint need not exist (a distroless image may have no command at all).
  const created = docker(engine, ["create", "--entrypoint", "/nonexistent", image]);
  if (created.code !== 0) throw new Error(`docker create ${image}: ${created.output}`);
  const id = created.stdout.trim();
  const out = new Map<string, ImageEntry>();
  const root = under.replace(/\/+$/, "");
  try {
    const child = spawn(engine.cli, ["export", id], { env: dockerEnv(engine), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    const tar = extract();
    child.stdout.pipe(tar);
    for await (const entry of tar) {
      const h = entry.header;
      const path = `/${h.name.replace(/^\.?\/+/, "").replace(/\/+$/, "")}`;
      if (path === root || path.startsWith(`${root}/`)) {
        const e: ImageEntry = { path, type: h.type ?? "file", mode: (h.mode ?? 0) & 0o7777, size: h.size ?? 0, ...(h.linkname ? { linkname: h.linkname } : {}) };
        if (h.type === "file" && read(path)) {
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          e.data = Buffer.concat(chunks);
        } else entry.resume();
        out.set(path, e);
      } else entry.resume();
    }
    const code = await exited;
    if (code !== 0) throw new Error(`docker export ${image}: exit ${code}: ${stderr}`);
  } finally {
    docker(engine, ["rm", id]);
  }
  return out;
}

/** Package names from the conda-meta records of a listing (name-version-build.json). */
export function condaMetaNames(entries: Map<string, ImageEntry>, prefix: string): string[] {
  const names: string[] = [];
  for (const path of entries.keys()) {
    const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}/conda-meta/(.+)-[^-]+-[^-]+\\.json$`).exec(path);
    if (m) names.push(m[1]!);
  }
  return names.sort();
}
