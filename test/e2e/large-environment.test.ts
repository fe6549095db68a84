// An environment of more packages than get a step each (layerPerPackageUpTo): 60 generated
// packages from a channel served here, installed in runs of neighbours and stacked as fewer
// layers. Checked on both Docker 26.1.5 stores: every package's record and files are in the
// image, the image has fewer install layers than packages, and a package changed in the lock
// re-runs one install step holding a few packages, not the others.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateInstallChannel } from "../../bench/install-channel";
import { handler } from "../fixtures/channel/serve";
import { buildAsync, condaMetaNames, imageEntries } from "./async-docker";
import { baseImage, docker, engines, header, project, stepsThatPrinted, tag } from "./harness";
import { installSteps, layerPerPackageUpTo } from "../../src/stages/install";

const count = 60;
let channelDir: string;
let server: Server;
let url: string;
let names: string[];

beforeAll(async () => {
  channelDir = mkdtempSync(join(tmpdir(), "cf-e2e-large-"));
  names = (await generateInstallChannel(channelDir, count)).map((p) => p.name);
  server = createServer((req, res) => handler(channelDir)(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const envYml = (specs: string[]) => `${header()}name: large
channels: [${url}]
dependencies: [${specs.join(", ")}]
image:
  base: ${baseImage}
`;

describe.each(engines)("a 60-package environment on $label", (on) => {
  it("installs every package in runs of neighbours, as fewer layers than packages, and re-runs one run's step when a package changes", async () => {
    expect(count).toBeGreaterThan(layerPerPackageUpTo);
    const dir = project({ "environment.yml": envYml(names) });
    const epoch = ["--build-arg", `SOURCE_DATE_EPOCH=${Math.floor(Date.now() / 1000)}`];
    const t = tag("large");
    const first = await buildAsync(on, dir, ["--network=host", "-f", "environment.yml", ...epoch, "-t", t, "--load", "."]);
    expect(first.code, first.output).toBe(0);
    const steps = stepsThatPrinted(first.output).filter((s) => s.startsWith("[install] ") && !s.startsWith("[install] request"));
    expect(steps.length).toBeLessThanOrEqual(2 * installSteps);
    expect(steps.some((s) => /^\[install\] \d+ packages: benchpkg/.test(s))).toBe(true);

    const entries = await imageEntries(on, t, "/opt/conda");
    const records = condaMetaNames(entries, "/opt/conda");
    expect(records).toEqual([...names].sort());
    for (const n of names) expect(entries.has(`/opt/conda/lib/lib${n}.so.1`), n).toBe(true);
    const history = docker(on, ["history", "--no-trunc", "--format", "{{.CreatedBy}}", t]).stdout.split("\n");
    const installLayers = history.filter((h) => h.startsWith("conda-frontend: install "));
    expect(installLayers.length).toBeLessThan(count / 2);
    // Every package is named by exactly one layer's history entry.
    for (const n of names) expect(installLayers.filter((h) => h.includes(`${n} 1.0-`)), n).toHaveLength(1);

    // One package gets a new version: its run's step runs again, no other install step does.
    const changed = names[30]!;
    await generateInstallChannel(channelDir, count, (i) => (i === 30 ? "1.1" : "1.0"));
    writeFileSync(join(dir, "environment.yml"), envYml(names.map((n) => (n === changed ? `${n}=1.1` : n))));
    const second = await buildAsync(on, dir, ["--network=host", "-f", "environment.yml", ...epoch, "-t", t, "--load", "."]);
    expect(second.code, second.output).toBe(0);
    const ran = stepsThatPrinted(second.output).filter((s) => s.startsWith("[install] ") && !s.startsWith("[install] request"));
    expect(ran).toHaveLength(1);
    expect(ran[0]).toContain(changed);
    expect(ran[0]!.split(", ").length).toBeLessThanOrEqual(2 * Math.ceil(count / installSteps));
    const after = [...(await imageEntries(on, t, "/opt/conda")).keys()].filter((k) => k.startsWith(`/opt/conda/conda-meta/${changed}-`));
    expect(after).toEqual([expect.stringMatching(new RegExp(`/${changed}-1\\.1-h[0-9a-f]+_0\\.json$`))]);
    // Back to 1.0 for the other engine's run of this test.
    await generateInstallChannel(channelDir, count);
  });
});
