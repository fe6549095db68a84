// parseBuildOptions(): the daemon's BUILDKIT_FRONTEND_OPT_<n> variables as BuildOptions.
import { describe, expect, it } from "vitest";
import { OptionError, parseBuildOptions, readRawOptions } from "../../src/gateway/options";

const host = { OS: "linux", Architecture: "amd64" };

function opts(...values: string[]) {
  const env: Record<string, string> = {};
  values.forEach((v, i) => (env[`BUILDKIT_FRONTEND_OPT_${i}`] = v));
  return parseBuildOptions(env, host);
}

describe("readRawOptions", () => {
  it("splits each option at the first '='", () => {
    const raw = readRawOptions({ BUILDKIT_FRONTEND_OPT_3: "build-arg:URL=https://x/?a=b", BUILDKIT_FRONTEND_OPT_0: "filename=env.yml", BUILDKIT_FRONTEND_OPT_7: "no-cache" });
    expect(raw).toEqual({ "build-arg:URL": "https://x/?a=b", filename: "env.yml", "no-cache": "" });
  });

  it("ignores other variables", () => {
    expect(readRawOptions({ PATH: "/bin", BUILDKIT_SESSION_ID: "s", FRONTEND_OPT_0: "a=b" })).toEqual({});
  });
});

describe("parseBuildOptions", () => {
  it("has defaults for a bare build", () => {
    const o = opts();
    expect(o).toMatchObject({
      filename: "Dockerfile",
      dockerfileLocal: "dockerfile",
      contextLocal: "context",
      buildArgs: {},
      labels: {},
      noCache: undefined,
      platforms: [host],
      networkMode: "sandbox",
      imageResolveMode: "default",
      sessionId: "",
      workers: [],
    });
    expect(o.target).toBeUndefined();
    expect(o.requestId).toBeUndefined();
    expect(o.sourceDateEpoch).toBeUndefined();
  });

  it("reads the file and context keys, target, source and request id", () => {
    const o = opts("filename=env.yaml", "dockerfilekey=dockerfile2", "contextkey=ctx2", "target=image", "source=example/frontend:1", "requestid=frontend.outline");
    expect(o).toMatchObject({ filename: "env.yaml", dockerfileLocal: "dockerfile2", contextLocal: "ctx2", target: "image", frontendSource: "example/frontend:1", requestId: "frontend.outline" });
  });

  it("collects build-arg: and label: options without their prefixes", () => {
    const o = opts("build-arg:BASE_IMAGE=python:3.12", "label:org.opencontainers.image.title=app", "build-arg:EMPTY=", "label:k=v=w");
    expect(o.buildArgs).toEqual({ BASE_IMAGE: "python:3.12", EMPTY: "" });
    expect(o.labels).toEqual({ "org.opencontainers.image.title": "app", k: "v=w" });
  });

  it("reads no-cache: empty means everything, otherwise a list of names", () => {
    expect(opts("no-cache=").noCache).toBe("all");
    expect(opts("no-cache").noCache).toBe("all");
    expect(opts("no-cache=install, solve,").noCache).toEqual(["install", "solve"]);
  });

  it("reads and normalises the platform list", () => {
    expect(opts("platform=linux/x86_64, linux/arm64/v8,linux/arm/v7").platforms).toEqual([
      { OS: "linux", Architecture: "amd64" },
      { OS: "linux", Architecture: "arm64" },
      { OS: "linux", Architecture: "arm", Variant: "v7" },
    ]);
    expect(opts("platform=").platforms).toEqual([host]);
  });

  it("rejects a malformed platform", () => {
    expect(() => opts("platform=linux")).toThrow(/invalid platform "linux"/);
  });

  it("reads force-network-mode", () => {
    expect(opts("force-network-mode=host").networkMode).toBe("host");
    expect(opts("force-network-mode=none").networkMode).toBe("none");
    expect(opts("force-network-mode=default").networkMode).toBe("sandbox");
    expect(opts("force-network-mode=sandbox").networkMode).toBe("sandbox");
    expect(() => opts("force-network-mode=bridge")).toThrow(OptionError);
    expect(() => opts("force-network-mode=bridge")).toThrow(/unsupported network mode "bridge"/);
  });

  it("reads image-resolve-mode", () => {
    expect(opts("image-resolve-mode=pull").imageResolveMode).toBe("pull");
    expect(opts("image-resolve-mode=local").imageResolveMode).toBe("local");
    expect(opts("image-resolve-mode=default").imageResolveMode).toBe("default");
    expect(() => opts("image-resolve-mode=always")).toThrow(OptionError);
    expect(() => opts("image-resolve-mode=always")).toThrow(/image-resolve-mode "always"/);
  });

  it("reads SOURCE_DATE_EPOCH from the build args as whole seconds", () => {
    expect(opts("build-arg:SOURCE_DATE_EPOCH=1700000000").sourceDateEpoch).toBe(1_700_000_000);
    expect(opts("build-arg:SOURCE_DATE_EPOCH=0").sourceDateEpoch).toBe(0);
    expect(opts("build-arg:SOURCE_DATE_EPOCH=").sourceDateEpoch).toBeUndefined();
    for (const bad of ["1.5", "-1", "yesterday", " 1"]) {
      expect(() => opts(`build-arg:SOURCE_DATE_EPOCH=${bad}`), bad).toThrow(OptionError);
    }
    expect(() => opts("build-arg:SOURCE_DATE_EPOCH=abc")).toThrow(/SOURCE_DATE_EPOCH must be a whole number of seconds \(before the year 2255\), not "abc"/);
  });

  it("reads the session id and the workers", () => {
    const workers = JSON.stringify([{ ID: "w1", Platforms: [{ OS: "linux", Architecture: "arm64" }] }, { id: "w2", platforms: [] }]);
    const o = parseBuildOptions({ BUILDKIT_SESSION_ID: "sess", BUILDKIT_WORKERS: workers }, host);
    expect(o.sessionId).toBe("sess");
    expect(o.workers).toEqual([
      { id: "w1", platforms: [{ OS: "linux", Architecture: "arm64" }] },
      { id: "w2", platforms: [] },
    ]);
    expect(parseBuildOptions({ BUILDKIT_WORKERS: "{not json" }, host).workers).toEqual([]);
  });

  it("keeps every option in raw", () => {
    expect(opts("custom=1", "label:a=b").raw).toEqual({ custom: "1", "label:a": "b" });
  });
});

describe("parseBuildOptions: platforms and epochs users get wrong", () => {
  it("reports a bad --platform as the user's error, not an internal one", () => {
    expect(() => opts("platform=linux")).toThrow(OptionError);
    expect(() => opts("platform=linux")).toThrow(/--platform: invalid platform "linux"/);
  });

  it("builds a platform named twice only once", () => {
    expect(opts("platform=linux/amd64,linux/x86_64,linux/arm64").platforms).toEqual([
      { OS: "linux", Architecture: "amd64" },
      { OS: "linux", Architecture: "arm64" },
    ]);
  });

  it("refuses a SOURCE_DATE_EPOCH that int64 nanoseconds cannot hold", () => {
    expect(() => opts("build-arg:SOURCE_DATE_EPOCH=10000000000")).toThrow(OptionError);
    expect(opts("build-arg:SOURCE_DATE_EPOCH=4102444800").sourceDateEpoch).toBe(4102444800);
  });
});

describe("cache imports (--cache-from)", () => {
  it("reads cache-imports as buildx sends it, and the legacy cache-from list as registry imports", () => {
    const json = JSON.stringify([
      { Type: "registry", Attrs: { ref: "localhost:5000/cache:env" } },
      { Type: "local", Attrs: { src: "/tmp/cache", digest: "sha256:" + "a".repeat(64) } },
      { Type: "gha" },
    ]);
    expect(opts(`cache-imports=${json}`, "cache-from=r.example/a:1, r.example/b:2").cacheImports).toEqual([
      { Type: "registry", Attrs: { ref: "localhost:5000/cache:env" } },
      { Type: "local", Attrs: { src: "/tmp/cache", digest: "sha256:" + "a".repeat(64) } },
      { Type: "gha", Attrs: {} },
      { Type: "registry", Attrs: { ref: "r.example/a:1" } },
      { Type: "registry", Attrs: { ref: "r.example/b:2" } },
    ]);
  });

  it("has none when the build names none", () => {
    expect(opts().cacheImports).toEqual([]);
    expect(opts("cache-imports=").cacheImports).toEqual([]);
  });

  it("refuses malformed cache-imports as the user's error, naming the option", () => {
    expect(() => opts("cache-imports={not json")).toThrow(/cache-imports \(--cache-from\) is not JSON/);
    expect(() => opts('cache-imports={"Type":"registry"}')).toThrow(/must be a JSON list/);
    expect(() => opts('cache-imports=[{"Attrs":{}}]')).toThrow(OptionError);
    expect(() => opts('cache-imports=[{"Type":"local","Attrs":{"src":1}}]')).toThrow(/each entry must be/);
    expect(() => opts('cache-imports=[{"Type":"local","Attrs":["x"]}]')).toThrow(/each entry must be/);
  });
});
