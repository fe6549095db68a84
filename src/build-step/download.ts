// Downloads of package archives inside an install step: a few at a time, each retried with
// backoff when the connection fails or the server answers 429/5xx, verified against the lock's
// hash before it is kept. BuildKit's own HTTP source opens every download of a build at once and
// never retries, so a channel server that limits or resets connections failed whole builds.
// Archives are kept in a folder (the steps' shared cache mount) under their hash and file name,
// written to a temporary name and renamed once verified: two steps fetching the same archive
// never see half a file, and a later step finds it there.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { archiveCachePath, type PackageDownload } from "../conda/install-request";

export class DownloadError extends Error {}

export interface DownloadOptions {
  /** The folder archives are kept in (archiveCachePath names them there). */
  cache: string;
  /** Downloads at once. */
  parallel: number;
  /** Tries per archive, the first included. */
  attempts: number;
  /** Milliseconds before the second try; doubled for each one after. */
  backoffMs: number;
  /** Headers for a download (the conda-auth secret's, for a private channel's). */
  headers?: (d: PackageDownload) => [string, string][];
  log?: (line: string) => void;
}

/** A failure another try may not have: the server's answer says so. */
class Refused extends Error {}

/** Bytes that are not the lock's: a cut transfer is tried once more, then it is the wrong file. */
class Mismatch extends Error {}

function hashOf(d: PackageDownload, bytes: Buffer): { algo: string; want: string; got: string } {
  const [algo, want] = d.sha256 ? ["sha256", d.sha256] : d.md5 ? ["md5", d.md5] : [undefined, undefined];
  if (!algo || !want) throw new Refused(`no sha256 or md5 to verify the download with`);
  return { algo, want, got: createHash(algo).update(bytes).digest("hex") };
}

async function fetchOnce(d: PackageDownload, opts: DownloadOptions): Promise<Buffer> {
  // No deadline of ours: fetch() gives up on a server silent for 5 minutes (undici's header and
  // body timeouts), and a large archive on a slow line may rightly take longer than any total.
  const res = await fetch(d.url, { headers: new Headers(opts.headers?.(d) ?? []) });
  if (!res.ok) {
    await res.body?.cancel();
    const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
    const why = `HTTP ${res.status}${res.status === 401 || res.status === 403 ? ": the channel refused the credentials (the conda-auth secret, for a channel in image.private-channels)" : ""}`;
    throw retryable ? new Error(why) : new Refused(why);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  const { algo, want, got } = hashOf(d, bytes);
  if (got !== want) throw new Mismatch(`${algo} mismatch: the lock says ${want}, the download (${bytes.length} bytes) is ${got}`);
  return bytes;
}

/** Why a try failed, in a line: fetch() puts the socket's error (ECONNRESET...) in its cause. */
function reason(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One archive into the cache, unless it is there. Throws a DownloadError naming it and its URL. */
export async function downloadOne(d: PackageDownload, opts: DownloadOptions): Promise<string> {
  const path = archiveCachePath(opts.cache, d);
  if (existsSync(path)) {
    opts.log?.(`${d.filename}: in the cache`);
    return path;
  }
  let last = "";
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    let bytes: Buffer;
    try {
      bytes = await fetchOnce(d, opts);
    } catch (e) {
      last = reason(e);
      if (e instanceof Refused) break;
      const lastTry = e instanceof Mismatch ? Math.min(2, opts.attempts) : opts.attempts;
      if (attempt < lastTry) {
        const wait = opts.backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
        opts.log?.(`${d.filename}: try ${attempt} of ${lastTry} failed (${last}); trying again in ${Math.round(wait)} ms`);
        await sleep(wait);
      } else {
        throw new DownloadError(`${d.filename} from ${d.url}: download failed after ${attempt} tries: ${last}`);
      }
      continue;
    }
    // Writing is not retried: a full disk or a missing folder is not the network's fault.
    mkdirSync(opts.cache, { recursive: true });
    const partial = `${path}.${randomBytes(6).toString("hex")}.partial`;
    writeFileSync(partial, bytes, { mode: 0o644 });
    renameSync(partial, path);
    opts.log?.(`${d.filename}: ${bytes.length} bytes${attempt > 1 ? ` (try ${attempt})` : ""}`);
    return path;
  }
  throw new DownloadError(`${d.filename} from ${d.url}: ${last}`);
}

/** Every archive, at most `parallel` at once; the first failure stops new downloads and is thrown. */
export async function downloadAll(downloads: PackageDownload[], opts: DownloadOptions): Promise<void> {
  if (!downloads.length) return; // BuildKit's HTTP sources brought them (and no cache is mounted)
  const queue = [...downloads];
  let failed: unknown;
  const worker = async () => {
    for (let d = queue.shift(); d && failed === undefined; d = queue.shift()) {
      try {
        await downloadOne(d, opts);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, downloads.length)) }, worker));
  if (failed !== undefined) throw failed;
}
