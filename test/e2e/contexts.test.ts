// Named build contexts (`docker buildx build --build-context NAME=...`) through a real BuildKit:
// an image as the base, files from a client folder into the app layer, and the errors that name
// the context. App-only builds (no conda packages): what is tested is where files come from.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageEntries } from "./async-docker";
import { allEngines, baseImage, build, cacheEngines, channelUrl, daemonUp, docker, type Engine, errorLine, executedSteps, header, project, tag } from "./harness";

/**
 * An image only this test run has, pushed to the local registry: the distroless test base with
 * /ctx-base/marker.txt. Built by our frontend too (an app-only build), so no other tool is needed.
 */
function pushContextBase(engine: Engine, marker: string): string {
  const ref = `localhost:5000/cf-e2e-ctx-base:${engine.name}-${process.pid}`;
  const dir = project({
    "environment.yml": `${header()}name: ctx-base\nimage:\n  base: ${baseImage}\n  workdir: /ctx-base\n  app:\n    copy: [marker.txt]\n`,
    "marker.txt": marker,
  });
  const built = build(engine, dir, ["-f", "environment.yml", "-t", ref, "--load", "."]);
  if (built.code !== 0) throw new Error(built.output);
  const pushed = docker(engine, ["push", "--quiet", ref]);
  if (pushed.code !== 0) throw new Error(pushed.output);
  return ref;
}

/** A project whose app.copy reads the build context and the named context `assets`. */
function appProject(copyFrom: string): string {
  const dir = project({
    "environment.yml": `${header()}name: ctx\nimage:\n  base: ${baseImage}\n  app:\n    copy:\n      - web\n      - ${copyFrom}\n`,
    "web/main.py": "print('hello')\n",
  });
  mkdirSync(join(dir, "assets-dir/static"), { recursive: true });
  writeFileSync(join(dir, "assets-dir/static/app.css"), "body { color: teal }\n");
  writeFileSync(join(dir, "assets-dir/not-copied.txt"), "only /static is copied\n");
  return dir;
}

describe.each(allEngines)("named build contexts on $label", (engine) => {
  it("builds on --build-context base=docker-image://..., copies app.copy's from: entries from a client folder and from that image, and the plan names the base's context", async () => {
    const marker = `context base of run ${process.pid} at ${Date.now()}\n`;
    const baseRef = pushContextBase(engine, marker);
    const dir = appProject("{from: assets, src: /static, dest: public}\n      - {from: base, src: /ctx-base/marker.txt, dest: from-base.txt}");
    const image = tag("ctx");
    const contexts = ["--build-context", `base=docker-image://${baseRef}`, "--build-context", "assets=./assets-dir"];
    const res = build(engine, dir, ["-f", "environment.yml", ...contexts, "-t", image, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\[app\] copy from build context assets: assets:\/static -> public to \/app/);

    const files = await imageEntries(engine, image, "/", (p) => p.endsWith(".txt") || p.endsWith(".css") || p.endsWith(".py"));
    // The base is the context's image (its marker file), not image.base.
    expect(files.get("/ctx-base/marker.txt")?.data?.toString()).toBe(marker);
    expect(files.get("/app/web/main.py")?.data?.toString()).toBe("print('hello')\n");
    expect(files.get("/app/public/app.css")?.data?.toString()).toBe("body { color: teal }\n");
    // app.copy reads an image context too: the base's own file, copied into the app layer.
    expect(files.get("/app/from-base.txt")?.data?.toString()).toBe(marker);
    // Only what app.copy names leaves the named folder.
    expect([...files.keys()].filter((p) => p.includes("not-copied"))).toEqual([]);

    const planDir = join(dir, "plan-out");
    const planned = build(engine, dir, ["-f", "environment.yml", ...contexts, "--target", "plan", "--output", `type=local,dest=${planDir}`, "."]);
    expect(planned.code, planned.output).toBe(0);
    const plan = JSON.parse(readFileSync(join(planDir, "plan.json"), "utf8")) as { build: { base: unknown; contexts: unknown } };
    expect(plan.build.base).toEqual({ ref: baseRef, origin: "build context base", context: "base" });
    expect(plan.build.contexts).toEqual({ assets: { kind: "local", local: "assets" }, base: { kind: "image", ref: baseRef } });
  });

  it("fails at the app.copy line naming a context the build was not given", () => {
    const dir = appProject("{from: nope, src: /static}");
    const res = build(engine, dir, ["-f", "environment.yml", "--build-context", "assets=./assets-dir", "."]);
    expect(res.code).not.toBe(0);
    expect(errorLine(res.output), res.output).toBe('environment.yml:8: image.app.copy: no build context named "nope"; pass --build-context nope=<folder or docker-image://ref>');
    expect(daemonUp(engine)).toBe(true);
  });

  it("refuses a folder as the base, naming the context", () => {
    const dir = appProject("{from: assets, src: /static}");
    const res = build(engine, dir, ["-f", "environment.yml", "--build-context", "assets=./assets-dir", "--build-context", "base=./assets-dir", "."]);
    expect(res.code).not.toBe(0);
    expect(errorLine(res.output), res.output).toBe('environment.yml: image.base: build context "base" is a folder; the base must be an image: --build-context base=docker-image://<ref> or oci-layout://<folder>');
  });

  it("fails at the app.copy line naming the context when a path is not in it", () => {
    const dir = appProject("{from: assets, src: /missing}");
    const res = build(engine, dir, ["-f", "environment.yml", "--build-context", "assets=./assets-dir", "."]);
    expect(res.code).not.toBe(0);
    expect(errorLine(res.output), res.output).toBe('environment.yml:8: image.app.copy: /missing is not in build context "assets"');
    expect(daemonUp(engine)).toBe(true);
  });
});

/**
 * An OCI layout folder holding an image with /oci-base/marker.txt, written by the containerd-store
 * engine (Docker's classic store cannot export OCI), once for every engine to read.
 */
let ociLayout: { dir: string; marker: string } | undefined;
function ociLayoutBase(): { dir: string; marker: string } {
  if (ociLayout) return ociLayout;
  const marker = `oci layout base of run ${process.pid} at ${Date.now()}\n`;
  const dir = project({
    "environment.yml": `${header()}name: oci-base\nimage:\n  base: ${baseImage}\n  workdir: /oci-base\n  app:\n    copy: [marker.txt]\n`,
    "marker.txt": marker,
  });
  const made = build(cacheEngines[0]!, dir, ["-f", "environment.yml", "--output", `type=oci,dest=${join(dir, "layout")},tar=false`, "."]);
  if (made.code !== 0) throw new Error(made.output);
  return (ociLayout = { dir: join(dir, "layout"), marker });
}

describe.each(allEngines)("an OCI layout folder as the base on $label", (engine) => {
  it(engine.containerdStore ? "builds on --build-context base=oci-layout://<folder>, solving and installing on it" : "refuses --build-context base=oci-layout://<folder>: the classic store has no OCI layout source", async () => {
    const layout = ociLayoutBase();
    // With a package to solve for: the frontend also looks into the base (its glibc) before the solve.
    // A spec unique to this run: the solve step runs (and logs the virtual packages) instead of coming from the cache.
    const dir = project({ "environment.yml": `${header()}name: ctx-oci\nchannels: [${channelUrl}]\ndependencies: ["greet-data >=0.0.${Date.now()}"]\n` });
    const image = tag("ctx-oci");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--build-context", `base=oci-layout://${layout.dir}`, "-t", image, "--load", "."]);
    if (!engine.containerdStore) {
      expect(res.code).not.toBe(0);
      expect(errorLine(res.output), res.output).toMatch(/^environment\.yml: image\.base \(build context base\): this daemon cannot read an OCI layout folder/);
      expect(daemonUp(engine)).toBe(true);
      return;
    }
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/__glibc=2\.36=0/); // read from the OCI layout base's dpkg records
    const files = await imageEntries(engine, image, "/", (p) => p === "/oci-base/marker.txt");
    expect(files.get("/oci-base/marker.txt")?.data?.toString()).toBe(layout.marker);
    expect(files.has("/opt/conda/share/greet-data/words.txt")).toBe(true);
  });
});

describe.each(allEngines)("app.copy from an OCI layout context on $label", (engine) => {
  it(engine.containerdStore ? "copies a file of the layout's image into the app layer" : "refuses an OCI layout context at its app.copy line: the classic store cannot read it", async () => {
    const layout = ociLayoutBase();
    const dir = project({ "environment.yml": `${header()}name: ctx-oci-copy\nimage:\n  base: ${baseImage}\n  app:\n    copy:\n      - {from: layout, src: /oci-base/marker.txt, dest: m.txt}\n` });
    const image = tag("ctx-oci-copy");
    const res = build(engine, dir, ["-f", "environment.yml", "--build-context", `layout=oci-layout://${layout.dir}`, "-t", image, "--load", "."]);
    if (!engine.containerdStore) {
      expect(res.code).not.toBe(0);
      expect(errorLine(res.output), res.output).toMatch(/^environment\.yml:7: image\.app\.copy: build context "layout" is an OCI layout folder, which this daemon cannot read/);
      return;
    }
    expect(res.code, res.output).toBe(0);
    const files = await imageEntries(engine, image, "/app", () => true);
    expect(files.get("/app/m.txt")?.data?.toString()).toBe(layout.marker);
  });
});

describe.each(allEngines)("the lock from a named context on $label", (engine) => {
  it("installs from the conda-lock.yml in --build-context lock=<folder> without solving, and names the context when the lock is not there", async () => {
    const envYml = `${header()}name: ctx-lock\nchannels: [${channelUrl}]\ndependencies:\n  - greet-data\nimage:\n  base: ${baseImage}\n`;
    const dir = project({ "environment.yml": envYml, "empty/.keep": "" });
    // The lock made by this frontend, kept in a folder of its own (as a CI job's artifact would be).
    const locked = build(engine, dir, ["--network=host", "-f", "environment.yml", "--target", "lock", "--output", `type=local,dest=${join(dir, "locks")}`, "."]);
    expect(locked.code, locked.output).toBe(0);

    const image = tag("ctx-lock");
    const res = build(engine, dir, ["--network=host", "-f", "environment.yml", "--build-context", "lock=./locks", "-t", image, "--load", "."]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\[context lock\] load lock/);
    expect(executedSteps(res.output).filter((s) => s.startsWith("[solve"))).toEqual([]);
    const files = await imageEntries(engine, image, "/opt/conda/share/greet-data");
    expect(files.has("/opt/conda/share/greet-data/words.txt")).toBe(true);

    const missing = build(engine, dir, ["--network=host", "-f", "environment.yml", "--build-context", "lock=./empty", "."]);
    expect(missing.code).not.toBe(0);
    expect(errorLine(missing.output), missing.output).toBe('environment.yml: build context lock: cannot find the lock file "conda-lock.yml" in build context "lock"');
  });
});
