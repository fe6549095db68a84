// planBuild(): the file and the build's options combined into one plan.
import { describe, expect, it } from "vitest";
import { defaultBase, defaultUser } from "../../src/input/image-section";
import { host, plan, planError } from "./helpers";


describe("planBuild", () => {
  it("uses the defaults for a file without an image section", () => {
    const p = plan("name: x\ndependencies: []\n");
    expect(p.target).toBe("image");
    expect(p.base).toEqual({ ref: defaultBase, origin: "default", range: undefined });
    expect(p.prefix).toBe("/opt/conda");
    expect(p.workdir).toBe("/app");
    expect(p.platforms).toEqual([host]);
    expect(p.image).toMatchObject({ user: defaultUser, workdir: "/app", env: [], labels: {}, ports: [] });
    expect(p.ignoreCache).toBe(false);
    expect(p.warnings).toEqual([]);
  });

  it("normalises the base from the file and keeps its line", () => {
    const p = plan("name: x\nimage:\n  base: python:3.12\n");
    expect(p.base.ref).toBe("docker.io/library/python:3.12");
    expect(p.base.origin).toBe("image section");
    expect(p.base.range?.start.line).toBe(3);
  });

  it("lets BASE_IMAGE and PREFIX build args override the file", () => {
    const p = plan("image:\n  base: python:3.12\n  prefix: /opt/env\n", "build-arg:BASE_IMAGE=ghcr.io/o/base:1", "build-arg:PREFIX=/srv/conda");
    expect(p.base).toEqual({ ref: "ghcr.io/o/base:1", origin: "build arg", range: undefined });
    expect(p.prefix).toBe("/srv/conda");
  });

  it("ignores empty build args", () => {
    const p = plan("image:\n  base: python:3.12\n", "build-arg:BASE_IMAGE=");
    expect(p.base.ref).toBe("docker.io/library/python:3.12");
  });

  it("reports an invalid base with its origin and line", () => {
    const fromFile = planError("name: x\nimage:\n  base: Python\n");
    expect(fromFile.message).toMatch(/^environment\.yml:3: image\.base \(image section\): invalid image reference "Python"/);
    const fromArg = planError("name: x\n", "build-arg:BASE_IMAGE=Bad Ref");
    expect(fromArg.message).toMatch(/^environment\.yml: image\.base \(build arg\): invalid image reference/);
  });

  it("rejects a relative or root PREFIX build arg", () => {
    expect(planError("name: x\n", "build-arg:PREFIX=opt").message).toContain('image.prefix (build arg): expected an absolute path other than /, got "opt"');
    expect(planError("name: x\n", "build-arg:PREFIX=/").message).toContain("image.prefix (build arg)");
  });

  it("lets label: options override the file's labels", () => {
    const p = plan("image:\n  labels:\n    a: file\n    b: file\n", "label:b=option", "label:c=option");
    expect(p.image.labels).toEqual({ a: "file", b: "option", c: "option" });
  });

  it("rejects an unknown target, listing the available ones", () => {
    expect(planError("name: x\n", "target=runtime").message).toBe('environment.yml: unknown build target "runtime"; available targets: image, lock, plan');
    expect(plan("name: x\n", "target=image").target).toBe("image");
  });

  it("uses image.platforms when no platform option is given", () => {
    const text = "image:\n  platforms: [linux/amd64, linux/aarch64]\n";
    expect(plan(text).platforms).toEqual([host, { OS: "linux", Architecture: "arm64" }]);
    expect(plan(text, "platform=linux/arm/v7").platforms).toEqual([{ OS: "linux", Architecture: "arm", Variant: "v7" }]);
  });

  it("reports an invalid platform in the file at its line", () => {
    expect(planError("image:\n  platforms:\n    - linux/amd64\n    - windows\n").message).toMatch(/^environment\.yml:4: image\.platforms: invalid platform "windows"/);
  });

  it("takes every image key it knows without warnings, and app.install: pip needs app.copy", () => {
    const p = plan("image:\n  lockfile: conda-lock.yml\n  prune: safe\n  compile-pyc: false\n  post-link: run\n  virtual-packages:\n    __cuda: '12'\n  app:\n    copy: [.]\n    install: pip\n");
    expect(p.warnings).toEqual([]);
    expect(p.appInstall?.range.start.line).toBe(10);
    expect(planError("image:\n  app:\n    install: pip\n").message).toMatch(/^environment\.yml:3: image\.app\.install: pip needs the app's files/);
  });

  it("carries pip build args into the plan, and no longer warns about pip entries", () => {
    const p = plan("name: x\nchannels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - requests\n", "build-arg:PIP_FIND_LINKS=http://x/wheels/", "build-arg:PIP_NO_INDEX=1", "build-arg:OTHER=1");
    expect(p.warnings).toEqual([]);
    expect(p.conda.pipEnv).toEqual({ PIP_FIND_LINKS: "http://x/wheels/", PIP_NO_INDEX: "1" });
  });

  it("prune: aggressive keeps pip when the build runs it, and says so at the preset's line", () => {
    const pipRules = ["lib/python*/site-packages/pip/**", "bin/pip", "bin/pip3"];
    const alone = plan("channels: [conda-forge]\ndependencies:\n  - python=3.12\nimage:\n  prune: aggressive\n");
    expect(alone.conda.prune.remove).toEqual(expect.arrayContaining(pipRules));
    expect(alone.warnings).toEqual([]);
    const withPip = plan("channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip\n  - pip:\n    - requests\nimage:\n  prune: aggressive\n");
    for (const r of pipRules) expect(withPip.conda.prune.remove).not.toContain(r);
    expect(withPip.conda.prune.remove).toContain("lib/libpython*.so*");
    expect(withPip.warnings.map((w) => [w.message, w.range?.start.line])).toEqual([["image.prune: aggressive keeps pip in the image, because the pip: list runs it at build time", 8]]);
    const appInstall = plan("channels: [conda-forge]\ndependencies: [python, pip]\nimage:\n  prune:\n    preset: aggressive\n  app:\n    copy: [.]\n    install: pip\n");
    expect(appInstall.conda.prune.remove).not.toContain("bin/pip");
    expect(appInstall.warnings[0]!.message).toMatch(/because image\.app\.install: pip runs it/);
  });

  it("carries the image settings over", () => {
    const p = plan(
      "image:\n  entrypoint: [python]\n  cmd: [-m, app]\n  user: app\n  workdir: /srv\n  env:\n    A: 1\n  ports: [80]\n  stop-signal: SIGINT\n  healthcheck:\n    test: [true]\n    interval: 10s\n",
    );
    expect(p.workdir).toBe("/srv");
    expect(p.image).toMatchObject({ entrypoint: ["python"], cmd: ["-m", "app"], user: "app", workdir: "/srv", env: [["A", "1"]], ports: ["80"], stopSignal: "SIGINT" });
    expect(p.image.healthcheck).toEqual({ Test: ["CMD", "true"], Interval: 10e9, Timeout: undefined, StartPeriod: undefined, Retries: undefined });
  });

  it("passes the app copy list and SOURCE_DATE_EPOCH through", () => {
    const p = plan("image:\n  app:\n    copy: [src]\n", "build-arg:SOURCE_DATE_EPOCH=1700000000");
    expect(p.appCopy.map((c) => c.value)).toEqual(["src"]);
    expect(p.sourceDateEpoch).toBe(1_700_000_000);
  });

  it("ignores the cache for --no-cache and a non-empty --no-cache-filter", () => {
    expect(plan("name: x\n", "no-cache=").ignoreCache).toBe(true);
    expect(plan("name: x\n", "no-cache=image").ignoreCache).toBe(true);
    expect(plan("name: x\n", "no-cache=,").ignoreCache).toBe(false);
  });
});

describe("--provenance in the plan", () => {
  it("is max only for mode=max (then packages are BuildKit HTTP sources, which provenance lists)", () => {
    expect(plan("name: x\n").provenanceMax).toBe(false);
    expect(plan("name: x\n", "attest:provenance=mode=max").provenanceMax).toBe(true);
    expect(plan("name: x\n", "attest:provenance=mode=max,builder-id=x").provenanceMax).toBe(true);
    expect(plan("name: x\n", "build-arg:BUILDKIT_ATTEST_PROVENANCE=mode=max").provenanceMax).toBe(true);
  });

  it("is not max for buildx's default mode=min, nor when disabled", () => {
    expect(plan("name: x\n", "attest:provenance=mode=min").provenanceMax).toBe(false);
    expect(plan("name: x\n", "attest:provenance=").provenanceMax).toBe(false);
    expect(plan("name: x\n", "attest:provenance=mode=max,disabled=true").provenanceMax).toBe(false);
  });
});

describe("--sbom in the plan", () => {
  it("is asked for by attest:sbom (empty value or fields), or the BUILDKIT_ATTEST_SBOM build arg", () => {
    expect(plan("name: x\n").sbom).toBe(false);
    expect(plan("name: x\n", "attest:sbom=").sbom).toBe(true);
    expect(plan("name: x\n", "attest:sbom=generator=docker/buildkit-syft-scanner").sbom).toBe(true);
    expect(plan("name: x\n", "build-arg:BUILDKIT_ATTEST_SBOM=").sbom).toBe(true);
  });

  it("is off when the client says disabled=true (buildx --sbom=false)", () => {
    expect(plan("name: x\n", "attest:sbom=disabled=true").sbom).toBe(false);
    expect(plan("name: x\n", "attest:sbom=false").sbom).toBe(false);
  });
});
