// The solve step's tool (`conda-frontend solve <request.json> <out-dir>`), run by BuildKit in
// an exec op from the frontend's own image: rattler's solver (WASM) over the channels' repodata,
// with the virtual packages served from a synthetic channel, written out as conda-lock.yml.
//
// Outcomes: a lock (exit 0); a deterministic failure - unsatisfiable, unknown package, bad spec -
// as result.json with exit 0, so the frontend can point at the line; a transient failure - a
// channel that cannot be reached - as exit 1, so BuildKit does not cache it.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { archiveNameOf, type Lock, type LockedPackage, sortedPackages, splitArchiveName, writeCondaLock } from "../input/lock";
import { dependencyConstraint, dependencyName } from "../conda/matchspec";
import type { SolvePlatform, SolveRequest, SolveResult } from "../conda/solve-request";
import { AuthError, authSecretId, isPrivate, readAuthHeaders } from "../conda/auth";
import { isVirtualPackageName, type VirtualPackage } from "../conda/virtual-packages";

const virtualHost = "virtual-packages.conda-frontend.invalid";

interface RattlerSolved {
  url: string;
  packageName: string;
  version: string;
  build: string;
  md5?: string;
  sha256?: string;
  depends?: string[];
  subdir?: string;
  filename: string;
}

interface Rattler {
  simpleSolve(specs: string[], channels: string[], platforms: string[], locked: unknown[]): Promise<RattlerSolved[]>;
}

/** A channel that serves only the target's virtual packages, as repodata. */
function virtualRepodata(subdir: string, packages: VirtualPackage[]): string {
  const records: Record<string, object> = {};
  for (const v of packages) {
    records[`${v.name}-${v.version}-${v.build}.conda`] = { name: v.name, version: v.version, build: v.build, build_number: 0, depends: [], subdir };
  }
  return JSON.stringify({ info: { subdir }, packages: {}, "packages.conda": records });
}

function response(url: string, body: string, status: number): Response {
  const res = new Response(body, { status, headers: { "content-type": "application/json" } });
  // rattler's WASM aborts the process on a Response without a URL.
  Object.defineProperty(res, "url", { value: url });
  return res;
}

export class ChannelUnreachable extends Error {}

/** Wraps fetch: serves the virtual channel, and remembers the first URL that could not be reached. */
function installFetch(platform: SolvePlatform, privateChannels: string[], headers: [string, string][]): { failures: string[]; restore(): void } {
  const realFetch = globalThis.fetch;
  const failures: string[] = [];
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const u = new URL(url);
    if (u.hostname === virtualHost) {
      const subdir = u.pathname.split("/").at(-2);
      const body = subdir === platform.subdir ? virtualRepodata(platform.subdir, platform.virtualPackages) : JSON.stringify({ info: { subdir }, packages: {} });
      return u.pathname.endsWith("/repodata.json") ? response(url, body, 200) : response(url, "not found", 404);
    }
    try {
      if (!isPrivate(url, privateChannels)) {
        const res = await realFetch(input, init);
        if (res.status === 401 || res.status === 403) failures.push(`${url}: HTTP ${res.status}; if the channel needs a token, list it in image.private-channels and pass the ${authSecretId} secret`);
        if (res.status >= 500) failures.push(`${url}: HTTP ${res.status}`);
        return res;
      }
      const req = new Request(input, init);
      for (const [name, value] of headers) req.headers.set(name, value);
      const res = await realFetch(req);
      if (res.status === 401 || res.status === 403) failures.push(`${url}: HTTP ${res.status}: the channel refused the ${authSecretId} secret's credentials`);
      return res;
    } catch (e) {
      failures.push(`${url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
      throw e;
    }
  };
  return { failures, restore: () => (globalThis.fetch = realFetch) };
}

function toLocked(p: RattlerSolved, subdir: string): LockedPackage {
  const filename = p.filename || archiveNameOf(p.url);
  const dependencies: Record<string, string> = {};
  for (const d of p.depends ?? []) dependencies[dependencyName(d)] = dependencyConstraint(d);
  return {
    name: p.packageName,
    version: p.version,
    build: p.build || splitArchiveName(filename)?.build || "",
    platform: subdir,
    manager: "conda",
    url: p.url,
    filename,
    md5: p.md5,
    sha256: p.sha256,
    dependencies,
    category: "main",
    optional: false,
  };
}

export type SolveFailure = Extract<SolveResult, { ok: false }>;

export async function solvePlatform(rattler: Rattler, req: SolveRequest, platform: SolvePlatform): Promise<LockedPackage[] | SolveFailure> {
  const privateChannels = req.privateChannels ?? [];
  const headers = privateChannels.length ? readAuthHeaders() : [];
  const fetchHook = installFetch(platform, privateChannels, headers);
  try {
    const channels = [...req.channels.map((c) => c.url), `http://${virtualHost}/${platform.subdir}`];
    const solved = await rattler.simpleSolve(req.specs, channels, [platform.subdir, "noarch"], []);
    return solved.filter((p) => !isVirtualPackageName(p.packageName)).map((p) => toLocked(p, platform.subdir));
  } catch (e) {
    const message = String((e as Error)?.message ?? e);
    if (fetchHook.failures.length) throw new ChannelUnreachable(`cannot reach the channel: ${fetchHook.failures[0]}`);
    // A channel answering 404 for every form of a subdir's repodata: a wrong URL, or a server that
    // is not serving right now. Not a result of solving: a failed step is not cached, a written
    // "cannot solve" result would be, and would keep failing after the server is back.
    if (/could not find subdir/i.test(message)) throw new ChannelUnreachable(`cannot read the channel: ${message.trim()}`);
    const kind = /parse|invalid/i.test(message) && !/cannot solve/i.test(message) ? "invalid-spec" : "unsatisfiable";
    return { ok: false, kind, platform: platform.subdir, message };
  } finally {
    fetchHook.restore();
  }
}

export async function runSolve(requestPath: string, outDir: string): Promise<number> {
  const req = JSON.parse(readFileSync(requestPath, "utf8")) as SolveRequest;
  const rattler = (await import("@conda-org/rattler")) as unknown as Rattler;
  mkdirSync(outDir, { recursive: true });
  const packages: LockedPackage[] = [];
  const counts: Record<string, number> = {};
  for (const platform of req.platforms) {
    let result;
    try {
      result = await solvePlatform(rattler, req, platform);
    } catch (e) {
      if (e instanceof ChannelUnreachable || e instanceof AuthError) {
        process.stderr.write(`conda-frontend solve: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    if (!Array.isArray(result)) {
      writeFileSync(join(outDir, "result.json"), JSON.stringify(result));
      process.stderr.write(`conda-frontend solve (${platform.subdir}): ${result.message}\n`);
      return 0;
    }
    counts[platform.subdir] = result.length;
    process.stderr.write(`${platform.subdir}: virtual packages ${platform.virtualPackages.map((v) => `${v.name}=${v.version}=${v.build}`).join(" ")}\n`);
    packages.push(...result);
    process.stderr.write(`${platform.subdir}: ${result.length} packages: ${result.map((p) => `${p.name}=${p.version}=${p.build}`).sort().join(" ")}\n`);
  }
  const lock: Lock = {
    version: 1 as const,
    platforms: req.platforms.map((p) => p.subdir),
    channels: req.channels.map((c) => c.name),
    contentHash: Object.fromEntries(req.platforms.map((p) => [p.subdir, p.contentHash])),
    sources: req.sources,
    // In the order conda-lock.yml lists them, so the JSON copy below says what the file says.
    packages: sortedPackages(packages),
    ours: true,
  };
  writeFileSync(join(outDir, "conda-lock.yml"), writeCondaLock(lock));
  const ok: SolveResult = { ok: true, packages: counts, lock };
  writeFileSync(join(outDir, "result.json"), JSON.stringify(ok));
  return 0;
}
