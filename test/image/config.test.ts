// buildImageConfig(): our settings on top of the base image's config, the way Docker applies
// ENV / ENTRYPOINT / CMD / LABEL / EXPOSE on top of FROM.
import { describe, expect, it } from "vitest";
import { buildImageConfig, getEnv, parseBaseConfig, setEnv, type ImageSettings, type OciImageConfig } from "../../src/image/config";

const amd64 = { OS: "linux", Architecture: "amd64" };

function base(config: OciImageConfig["config"] = {}, extra: Partial<OciImageConfig> = {}): OciImageConfig {
  return { architecture: "amd64", os: "linux", config, rootfs: { type: "layers", diff_ids: ["sha256:aaa"] }, ...extra };
}

function settings(s: Partial<ImageSettings> = {}): ImageSettings {
  return { platform: amd64, env: [], labels: {}, ports: [], ...s };
}

describe("buildImageConfig", () => {
  it("overrides variables by name without duplicates and appends new ones in order", () => {
    const out = buildImageConfig(base({ Env: ["PATH=/usr/bin", "LANG=C", "TZ=UTC"] }), settings({ env: [["PATH", "/opt/conda/bin:/usr/bin"], ["B", "2"], ["A", "1"], ["B", "3"]] }));
    const env = out.config.Env!;
    expect(env.filter((e) => e.startsWith("PATH="))).toEqual(["PATH=/opt/conda/bin:/usr/bin"]);
    expect(env.filter((e) => e.startsWith("B="))).toEqual(["B=3"]);
    // Untouched base variables keep their order; new ones follow.
    expect(env.filter((e) => e.startsWith("LANG=") || e.startsWith("TZ="))).toEqual(["LANG=C", "TZ=UTC"]);
    expect(env.indexOf("A=1")).toBeGreaterThan(env.indexOf("TZ=UTC"));
    expect(env).toHaveLength(5);
  });

  it("matches variable names exactly", () => {
    const out = buildImageConfig(base({ Env: ["PATHEXT=x", "PATH=/bin"] }), settings({ env: [["PATH", "/p"]] }));
    expect(out.config.Env).toContain("PATHEXT=x");
    expect(getEnv(out.config.Env, "PATH")).toBe("/p");
  });

  it("drops the inherited Cmd when a new entrypoint is set", () => {
    const b = base({ Entrypoint: ["/docker-entrypoint.sh"], Cmd: ["python3"] });
    const out = buildImageConfig(b, settings({ entrypoint: ["python", "-m", "app"] }));
    expect(out.config.Entrypoint).toEqual(["python", "-m", "app"]);
    expect(out.config.Cmd).toBeNull();
    expect(buildImageConfig(b, settings({ entrypoint: ["x"], cmd: ["--y"] })).config.Cmd).toEqual(["--y"]);
  });

  it("keeps the inherited entrypoint when only cmd is set", () => {
    const out = buildImageConfig(base({ Entrypoint: ["/init"], Cmd: ["a"] }), settings({ cmd: ["b"] }));
    expect(out.config.Entrypoint).toEqual(["/init"]);
    expect(out.config.Cmd).toEqual(["b"]);
    const none = buildImageConfig(base({ Entrypoint: ["/init"], Cmd: ["a"] }), settings());
    expect(none.config).toMatchObject({ Entrypoint: ["/init"], Cmd: ["a"] });
  });

  it("merges labels, ours winning", () => {
    const out = buildImageConfig(base({ Labels: { a: "base", b: "base" } }), settings({ labels: { b: "ours", c: "ours" } }));
    expect(out.config.Labels).toEqual({ a: "base", b: "ours", c: "ours" });
    expect(buildImageConfig(base(), settings()).config.Labels).toBeUndefined();
  });

  it("exposes ports, tcp by default, keeping the base's", () => {
    const out = buildImageConfig(base({ ExposedPorts: { "22/tcp": {} } }), settings({ ports: ["8080", "53/udp"] }));
    expect(out.config.ExposedPorts).toEqual({ "22/tcp": {}, "8080/tcp": {}, "53/udp": {} });
  });

  it("sets user, workdir, healthcheck and stop signal", () => {
    const hc = { Test: ["CMD", "true"], Interval: 30e9, Retries: 3 };
    const out = buildImageConfig(base({ User: "root", WorkingDir: "/" }), settings({ user: "65532:65532", workdir: "/app", healthcheck: hc, stopSignal: "SIGINT" }));
    expect(out.config).toMatchObject({ User: "65532:65532", WorkingDir: "/app", Healthcheck: hc, StopSignal: "SIGINT" });
    expect(buildImageConfig(base({ User: "root" }), settings()).config.User).toBe("root");
  });

  it("removes the base's creation time and keeps its layers and history", () => {
    const b = base({}, { created: "2024-01-01T00:00:00Z", history: [{ created_by: "FROM scratch" }] });
    const out = buildImageConfig(b, settings());
    expect("created" in out).toBe(false);
    expect(out.rootfs).toEqual({ type: "layers", diff_ids: ["sha256:aaa"] });
    expect(out.history).toEqual([{ created_by: "FROM scratch" }]);
  });

  it("sets created from SOURCE_DATE_EPOCH, in seconds", () => {
    const b = base({}, { created: "2024-01-01T00:00:00Z" });
    expect(buildImageConfig(b, settings({ sourceDateEpoch: 1_700_000_000 })).created).toBe("2023-11-14T22:13:20Z");
    expect(buildImageConfig(b, settings({ sourceDateEpoch: 0 })).created).toBe("1970-01-01T00:00:00Z");
  });

  it("takes os, architecture and variant from the platform", () => {
    const arm = buildImageConfig(base({}, { architecture: "amd64" }), settings({ platform: { OS: "linux", Architecture: "arm", Variant: "v7" } }));
    expect(arm).toMatchObject({ os: "linux", architecture: "arm", variant: "v7" });
    const noVariant = buildImageConfig(base({}, { architecture: "arm64", variant: "v8" }), settings({ platform: { OS: "linux", Architecture: "arm64" } }));
    expect("variant" in noVariant).toBe(false);
  });

  it("does not modify the base config", () => {
    const b = base({ Env: ["A=1"], Labels: { a: "1" } });
    const before = JSON.stringify(b);
    buildImageConfig(b, settings({ env: [["A", "2"]], labels: { b: "2" }, ports: ["1"] }));
    expect(JSON.stringify(b)).toBe(before);
  });
});

describe("parseBaseConfig", () => {
  it("parses the daemon's config and fills in missing parts", () => {
    const parsed = parseBaseConfig(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" })), amd64);
    expect(parsed.config).toEqual({});
    expect(parsed.rootfs).toEqual({ type: "layers", diff_ids: [] });
  });

  it("gives an empty config for scratch", () => {
    expect(parseBaseConfig(undefined, { OS: "linux", Architecture: "arm64" })).toEqual({ architecture: "arm64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [] } });
    expect(parseBaseConfig(new Uint8Array(), amd64).config).toEqual({});
  });
});

describe("env helpers", () => {
  it("setEnv replaces by name and getEnv reads the last value", () => {
    expect(setEnv(["A=1", "B=2"], "A", "3").filter((e) => e.startsWith("A="))).toEqual(["A=3"]);
    expect(setEnv([], "A", "x=y")).toEqual(["A=x=y"]);
    expect(getEnv(["A=1", "A=2"], "A")).toBe("2");
    expect(getEnv(["A=x=y"], "A")).toBe("x=y");
    expect(getEnv(["AB=1"], "A")).toBeUndefined();
    expect(getEnv(undefined, "A")).toBeUndefined();
  });
});

describe("setEnv keeps Docker's ENV order", () => {
  it("replaces an existing variable where it stands", () => {
    expect(setEnv(["PATH=/usr/bin", "LANG=C"], "PATH", "/opt/conda/bin:/usr/bin")).toEqual(["PATH=/opt/conda/bin:/usr/bin", "LANG=C"]);
  });

  it("adds a new variable at the end", () => {
    expect(setEnv(["PATH=/usr/bin"], "LANG", "C")).toEqual(["PATH=/usr/bin", "LANG=C"]);
  });
});

describe("layer history", () => {
  it("keeps the base's history and adds one entry per layer of ours, so no layer is named by the ref it came from", () => {
    const b = base({}, { history: [{ created_by: "base layer", created: "2024-01-01T00:00:00Z" }, { created_by: "ENV X=1", empty_layer: true }] });
    const out = buildImageConfig(b, settings({ history: ["conda-frontend: install python 3.12.1-h_0 into /opt/conda", "conda-frontend: copy main.py to /app"] }));
    expect(out.history).toEqual([
      { created_by: "base layer", created: "2024-01-01T00:00:00Z" },
      { created_by: "ENV X=1", empty_layer: true },
      { created_by: "conda-frontend: install python 3.12.1-h_0 into /opt/conda", comment: "conda-frontend" },
      { created_by: "conda-frontend: copy main.py to /app", comment: "conda-frontend" },
    ]);
  });

  it("accounts for base layers its history leaves out before describing ours", () => {
    const b = base({}, { rootfs: { type: "layers", diff_ids: ["sha256:a", "sha256:b"] }, history: [{ created_by: "one" }] });
    const out = buildImageConfig(b, settings({ history: ["ours"] }));
    expect(out.history!.map((h) => h.created_by)).toEqual(["one", "(a layer of the base image)", "ours"]);
    expect(out.history!.filter((h) => !h.empty_layer)).toHaveLength(3);
  });
});
