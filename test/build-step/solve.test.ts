// The solve step's own classification of failures: what is written as a (cached) result and what
// fails the step (not cached), against real HTTP servers on 127.0.0.1 and rattler's real solver.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChannelUnreachable, solvePlatform } from "../../src/build-step/solve";
import { virtualPackages } from "../../src/conda/virtual-packages";

type Rattler = Parameters<typeof solvePlatform>[0];

function serve(status: (path: string) => number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const code = status(req.url ?? "/");
    res.writeHead(code, { "content-type": "application/json" });
    res.end(code === 200 ? JSON.stringify({ info: { subdir: req.url!.split("/")[1] }, packages: {}, "packages.conda": {} }) : "no");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

const platform = { subdir: "linux-64", virtualPackages: virtualPackages({ subdir: "linux-64", configured: {}, overrides: {} }), contentHash: "0".repeat(64) };
const request = (url: string, spec: string) => ({ specs: [spec], channels: [{ name: url, url }], platforms: [platform], sources: ["environment.yml"] });

describe("solvePlatform's failures", () => {
  let rattler: Rattler;
  const servers: Server[] = [];
  beforeAll(async () => {
    rattler = (await import("@conda-org/rattler")) as unknown as Rattler;
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it("a channel answering 404 for a subdir fails the step (ChannelUnreachable, never a cached result)", async () => {
    const { server, url } = await serve(() => 404);
    servers.push(server);
    await expect(solvePlatform(rattler, request(url, "python"), platform)).rejects.toBeInstanceOf(ChannelUnreachable);
  });

  it("a channel answering 503 fails the step, naming the URL and the status", async () => {
    const { server, url } = await serve(() => 503);
    servers.push(server);
    const e = await solvePlatform(rattler, request(url, "python"), platform).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ChannelUnreachable);
    expect((e as Error).message).toMatch(new RegExp(`${url}/\\S+: HTTP 503`));
  });

  it("a package the channel does not have is a written result (unsatisfiable): the channel answered", async () => {
    const { server, url } = await serve((path) => (path.endsWith("/repodata.json") ? 200 : 404));
    servers.push(server);
    const result = await solvePlatform(rattler, request(url, "nosuchpackage"), platform);
    expect(result).toMatchObject({ ok: false, kind: "unsatisfiable", platform: "linux-64" });
  });
});
