// The grouped install step (`install --group`): it downloads its packages from a real HTTP
// server into the cache folder, installs them in order into one layer (where two ship the same
// file, the later one's stays, as when layers stack), writes each package's report and record,
// and fails naming the package when a download or an install fails.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runInstallGroup } from "../../../src/build-step/install/install";
import { archiveCachePath, type InstallGroupRequest } from "../../../src/conda/install-request";
import { type PackageSpec, writePackage } from "./make-package";

const tmp = () => mkdtempSync(join(tmpdir(), "cf-group-"));
const PREFIX = "/opt/conda";
let server: Server | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serveDir(dir: string, refuse: (path: string) => boolean = () => false): Promise<string> {
  server = createServer((req, res) => {
    if (refuse(req.url!)) {
      res.statusCode = 404;
      return res.end();
    }
    res.end(readFileSync(join(dir, req.url!.slice(1))));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const spec = (name: string, files: { path: string; content: string }[]): PackageSpec => ({ index: { name, version: "1.0", build: "h0_0", subdir: "linux-64" }, files });

async function groupRequest(specs: PackageSpec[], refuse?: (path: string) => boolean): Promise<{ request: InstallGroupRequest; out: string; reports: string; file: string }> {
  const dir = tmp();
  const written = await Promise.all(specs.map((s) => writePackage(dir, s)));
  const base = await serveDir(dir, refuse);
  const cache = join(tmp(), "cache");
  const out = join(tmp(), "out");
  const reports = tmp();
  const downloads = written.map((w) => ({ url: `${base}/${w.filename}`, filename: w.filename, sha256: w.sha256, md5: w.md5 }));
  const request: InstallGroupRequest = {
    cache,
    downloads,
    packages: written.map((w, i) => ({ archive: archiveCachePath(cache, downloads[i]!), url: downloads[i]!.url, filename: w.filename, name: specs[i]!.index.name, version: "1.0", build: "h0_0", sha256: w.sha256, md5: w.md5, prefix: PREFIX, outRoot: out, report: join(reports, `${specs[i]!.index.name}.json`) })),
    parallel: 2,
    attempts: 2,
  };
  const file = join(tmp(), "request.json");
  writeFileSync(file, JSON.stringify(request));
  return { request, out, reports, file };
}

describe("runInstallGroup", () => {
  it("downloads and installs every package of the group into one prefix, in order, with a record and a report each", async () => {
    const { out, reports, file } = await groupRequest([
      spec("first", [{ path: "lib/first.txt", content: "1" }, { path: "share/both.txt", content: "from first" }]),
      spec("second", [{ path: "bin/second", content: "2" }, { path: "share/both.txt", content: "from second" }]),
    ]);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(await runInstallGroup(file)).toBe(0);
    const root = join(out, PREFIX);
    expect(readFileSync(join(root, "lib/first.txt"), "utf8")).toBe("1");
    expect(readFileSync(join(root, "bin/second"), "utf8")).toBe("2");
    // The later package's file, as the upper layer's would be.
    expect(readFileSync(join(root, "share/both.txt"), "utf8")).toBe("from second");
    expect(readdirSync(join(root, "conda-meta")).sort()).toEqual(["first-1.0-h0_0.json", "second-1.0-h0_0.json"]);
    for (const name of ["first", "second"]) {
      const path = join(reports, `${name}.json`);
      const report = JSON.parse(lstatSync(path).isSymbolicLink() ? readlinkSync(path, "utf8") : readFileSync(path, "utf8")) as { name: string };
      expect(report.name).toBe(name);
    }
  });

  it("fails before installing anything when a download fails, naming the package and its URL", async () => {
    const { out, file, request } = await groupRequest([spec("fine", [{ path: "a", content: "a" }]), spec("gone", [{ path: "b", content: "b" }])], (p) => p.includes("gone"));
    const lines: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s) => (lines.push(String(s)), true));
    expect(await runInstallGroup(file)).toBe(1);
    expect(lines.join("")).toContain(`conda-frontend install: gone-1.0-h0_0.conda from ${request.downloads[1]!.url}: HTTP 404`);
    expect(() => readdirSync(out)).toThrow();
  });
});
