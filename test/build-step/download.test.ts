// The install steps' downloads against real HTTP servers on 127.0.0.1: one that resets every
// third connection, one that fails with 503 before it answers, one that answers 404 or sends
// the wrong bytes, and a count of how many requests are open at once.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DownloadError, downloadAll, downloadOne } from "../../src/build-step/download";
import { archiveCachePath, type PackageDownload } from "../../src/conda/install-request";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, onConnection?: (socket: import("node:net").Socket, n: number) => boolean): Promise<string> {
  const server = createServer(handler);
  let connections = 0;
  if (onConnection) {
    // Before the HTTP parser sees the socket: a reset connection never gets an answer.
    server.prependListener("connection", (socket) => {
      if (!onConnection(socket, ++connections)) socket.resetAndDestroy();
    });
  }
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** `n` archives (bytes that differ) served by name. */
function archives(n: number): Map<string, Buffer> {
  return new Map(Array.from({ length: n }, (_, i) => [`pkg${i}-1.0-h0_0.conda`, Buffer.from(`archive ${i} `.repeat(100 + i))]));
}

function downloads(base: string, files: Map<string, Buffer>): PackageDownload[] {
  return [...files].map(([filename, bytes]) => ({ url: `${base}/${filename}`, filename, sha256: sha256(bytes), md5: md5(bytes) }));
}

const cache = () => mkdtempSync(join(tmpdir(), "cf-download-"));
const options = (dir: string, log: string[] = []) => ({ cache: dir, parallel: 4, attempts: 5, backoffMs: 5, log: (l: string) => log.push(l) });

describe("downloadAll", () => {
  it("gets every archive from a server that resets every third connection, verified and kept under its hash", async () => {
    const files = archives(30);
    const base = await serve(
      (req, res) => res.end(files.get(req.url!.slice(1))),
      (_socket, n) => n % 3 !== 0,
    );
    const dir = cache();
    const log: string[] = [];
    const list = downloads(base, files);
    await downloadAll(list, options(dir, log));
    for (const d of list) expect(readFileSync(archiveCachePath(dir, d))).toEqual(files.get(d.filename));
    // Some tries did fail, and were tried again.
    expect(log.some((l) => /try \d of 5 failed/.test(l))).toBe(true);
    // Nothing half written is left.
    expect(readdirSync(dir).filter((n) => n.endsWith(".partial"))).toEqual([]);
  });

  it("has at most `parallel` requests open at once", async () => {
    const files = archives(20);
    let open = 0;
    let most = 0;
    const base = await serve((req, res) => {
      most = Math.max(most, ++open);
      setTimeout(() => {
        open--;
        res.end(files.get(req.url!.slice(1)));
      }, 20);
    });
    await downloadAll(downloads(base, files), { ...options(cache()), parallel: 3 });
    expect(most).toBe(3);
  });

  it("tries again after 503 and 429, and succeeds when the server recovers", async () => {
    const files = archives(1);
    const answers = [503, 429, 200];
    const base = await serve((req, res) => {
      const status = answers.shift() ?? 200;
      res.statusCode = status;
      res.end(status === 200 ? files.get(req.url!.slice(1)) : "busy");
    });
    const dir = cache();
    const [d] = downloads(base, files);
    await downloadAll([d!], options(dir));
    expect(answers).toEqual([]);
    expect(existsSync(archiveCachePath(dir, d!))).toBe(true);
  });

  it("says which package and URL failed, and why, when the tries are used up", async () => {
    const base = await serve(() => undefined, () => false);
    const files = archives(1);
    const [d] = downloads(base, files);
    const err = await downloadAll([d!], { ...options(cache()), attempts: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(new RegExp(`^pkg0-1\\.0-h0_0\\.conda from ${base}/pkg0-1\\.0-h0_0\\.conda: download failed after 3 tries: `));
    expect((err as Error).message).toMatch(/ECONNRESET|socket|fetch failed/i);
  });

  it("does not try again on 404, and names the status", async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests++;
      res.statusCode = 404;
      res.end();
    });
    const [d] = downloads(base, archives(1));
    await expect(downloadOne(d!, options(cache()))).rejects.toThrow(/pkg0-1\.0-h0_0\.conda from .*: HTTP 404$/);
    expect(requests).toBe(1);
  });

  it("refuses bytes that do not match the lock's sha256 (after trying again), keeping nothing", async () => {
    const base = await serve((_req, res) => res.end("not the package"));
    const files = archives(1);
    const [d] = downloads(base, files);
    const dir = cache();
    await expect(downloadOne(d!, { ...options(dir), attempts: 2 })).rejects.toThrow(/download failed after 2 tries: sha256 mismatch: the lock says [0-9a-f]{64}, the download \(15 bytes\) is [0-9a-f]{64}/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("makes the cache folder when it is not there yet (downloadOne on its own)", async () => {
    const files = archives(1);
    const base = await serve((req, res) => res.end(files.get(req.url!.slice(1))));
    const [d] = downloads(base, files);
    const dir = join(cache(), "not", "yet");
    const path = await downloadOne(d!, options(dir));
    expect(readFileSync(path)).toEqual(files.get(d!.filename));
  });

  it("verifies with md5 when the lock has no sha256", async () => {
    const files = archives(1);
    const base = await serve((req, res) => res.end(files.get(req.url!.slice(1))));
    const [d] = downloads(base, files);
    const dir = cache();
    const { sha256: _, ...md5Only } = d!;
    await downloadOne(md5Only, options(dir));
    expect(existsSync(join(dir, `${d!.md5}-${d!.filename}`))).toBe(true);
  });

  it("asks nothing of the server for an archive already in the cache", async () => {
    const files = archives(2);
    let requests = 0;
    const base = await serve((req, res) => {
      requests++;
      res.end(files.get(req.url!.slice(1)));
    });
    const dir = cache();
    await downloadAll(downloads(base, files), options(dir));
    expect(requests).toBe(2);
    await downloadAll(downloads(base, files), options(dir));
    expect(requests).toBe(2);
  });

  it("sends the headers given for a download (the conda-auth secret's, for a private one)", async () => {
    const files = archives(2);
    const seen: (string | undefined)[] = [];
    const base = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.end(files.get(req.url!.slice(1)));
    });
    const [pub, priv] = downloads(base, files);
    await downloadAll([pub!, { ...priv!, private: true }], { ...options(cache()), parallel: 1, headers: (d) => (d.private ? [["Authorization", "Bearer t0k"]] : []) });
    expect(seen).toEqual([undefined, "Bearer t0k"]);
  });
});
