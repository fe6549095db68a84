// The install steps' downloads against a channel server that resets connections: every third
// one (the build succeeds, some tries are retried), or every one (the build fails naming the
// package and its URL). The server is the fixture channel's handler behind a policy that
// resets a connection before it is read; the lock is the fixture channel's, with its URLs
// pointed at this server. The engine's cache mounts are emptied first, so the archives are
// really downloaded, and a run-unique SOURCE_DATE_EPOCH makes every install step run.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { handler } from "../fixtures/channel/serve";
import { buildAsync } from "./async-docker";
import { baseImage, build, channelUrl, daemonUp, docker, engines, header, project, tag } from "./harness";

const channelDir = join(__dirname, "../../.e2e/channel");

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** The fixture channel on a port of its own, resetting the connections `reset` picks; counts them. */
async function resettingChannel(reset: (n: number) => boolean): Promise<{ url: string; resets: () => number }> {
  let connections = 0;
  let resets = 0;
  server = createServer(handler(channelDir));
  server.prependListener("connection", (socket) => {
    if (reset(++connections)) {
      resets++;
      socket.resetAndDestroy();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, resets: () => resets };
}

const envYml = `${header()}name: downloads
channels:
  - ${channelUrl}
dependencies:
  - python=3.12
  - greet
  - greetpy=0.2
image:
  base: ${baseImage}
`;

describe.each(engines)("downloads from a server that resets connections, on $label", (on) => {
  /** A project whose conda-lock.yml (locked from the fixture channel) downloads from `url`. */
  function lockedProject(url: string): string {
    const dir = project({ "environment.yml": envYml });
    const locked = build(on, dir, ["--network=host", "-f", "environment.yml", "--target", "lock", "-o", `type=local,dest=${join(dir, "out")}`, "."]);
    expect(locked.code, locked.output).toBe(0);
    const lock = readFileSync(join(dir, "out/conda-lock.yml"), "utf8");
    expect(lock).toContain(`url: ${channelUrl}/`);
    writeFileSync(join(dir, "conda-lock.yml"), lock.replaceAll(`url: ${channelUrl}/`, `url: ${url}/`));
    // What the install steps downloaded before is in the engine's cache mounts: empty them.
    expect(docker(on, ["builder", "prune", "-f", "--filter", "type=exec.cachemount"]).code).toBe(0);
    return dir;
  }
  const fresh = () => ["--build-arg", `SOURCE_DATE_EPOCH=${Math.floor(Date.now() / 1000)}`];

  it("installs every package when every third connection is reset: the failed tries are tried again", async () => {
    const channel = await resettingChannel((n) => n % 3 === 0);
    const dir = lockedProject(channel.url);
    const t = tag("downloads");
    const res = await buildAsync(on, dir, ["--network=host", "-f", "environment.yml", ...fresh(), "-t", t, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(channel.resets()).toBeGreaterThan(0);
    expect(res.output).toMatch(/\.conda: try 1 of 5 failed \(.+\); trying again in \d+ ms/);
    expect(res.output).toMatch(/python-3\.12\.\S+\.conda: \d+ bytes/);
    const run = docker(on, ["run", "--rm", "--entrypoint", "/opt/conda/bin/greetpy", t]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain("greetpy 0.2: Hello from greetpy 0.2");
  });

  it("fails naming the package and its URL when every try is reset, and the daemon stays up", async () => {
    const channel = await resettingChannel(() => true);
    const dir = lockedProject(channel.url);
    const res = await buildAsync(on, dir, ["--network=host", "-f", "environment.yml", ...fresh(), "."]);
    expect(res.code).not.toBe(0);
    const url = channel.url.replaceAll(".", "\\.");
    expect(res.output).toMatch(new RegExp(`conda-frontend install: (\\S+\\.conda) from ${url}/\\S+/\\1: download failed after 5 tries: .*(ECONNRESET|socket|fetch failed)`));
    expect(daemonUp(on)).toBe(true);
  });
});
