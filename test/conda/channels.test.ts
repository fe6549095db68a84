// Channels: names under the alias, URLs kept, nodefaults dropped, defaults refused.
import { describe, expect, it } from "vitest";
import { ChannelError, defaultChannelAlias, resolveChannel, resolveChannels } from "../../src/conda/channels";

describe("resolveChannel", () => {
  it("puts a name under conda.anaconda.org", () => {
    expect(defaultChannelAlias).toBe("https://conda.anaconda.org");
    expect(resolveChannel("conda-forge")).toEqual({ name: "conda-forge", url: "https://conda.anaconda.org/conda-forge" });
    expect(resolveChannel("  bioconda ")).toEqual({ name: "bioconda", url: "https://conda.anaconda.org/bioconda" });
    expect(resolveChannel("pytorch/label/nightly").url).toBe("https://conda.anaconda.org/pytorch/label/nightly");
  });

  it("uses a custom alias, without its trailing slashes", () => {
    expect(resolveChannel("conda-forge", "https://mirror.example.com/conda//")).toEqual({ name: "conda-forge", url: "https://mirror.example.com/conda/conda-forge" });
    expect(resolveChannel("conda-forge", "http://m.local").url).toBe("http://m.local/conda-forge");
  });

  it("keeps full URLs, removing trailing slashes, and ignores the alias for them", () => {
    expect(resolveChannel("https://repo.example.com/channel/")).toEqual({ name: "https://repo.example.com/channel/", url: "https://repo.example.com/channel" });
    expect(resolveChannel("http://repo.example.com/c///", "https://other").url).toBe("http://repo.example.com/c");
    expect(resolveChannel("file:///srv/channel").url).toBe("file:///srv/channel");
  });

  it("rejects defaults with an explanation", () => {
    expect(() => resolveChannel("defaults")).toThrow(ChannelError);
    expect(() => resolveChannel("defaults")).toThrow(/"defaults" channel .*terms of service.*conda-forge/);
  });

  it("rejects other URL schemes", () => {
    expect(() => resolveChannel("s3://x")).toThrow(ChannelError);
    expect(() => resolveChannel("s3://x")).toThrow(/"s3:\/\/x"/);
    expect(() => resolveChannel("ftp://x")).toThrow(/unsupported channel URL scheme in "ftp:\/\/x": use http\(s\):\/\//);
  });

  it.each(["conda forge", "a//b", "/abs", "chan!", "a/"])("rejects the invalid name %j", (name) => {
    expect(() => resolveChannel(name)).toThrow(ChannelError);
    expect(() => resolveChannel(name)).toThrow(/invalid channel name/);
  });

  it("rejects an empty name", () => {
    expect(() => resolveChannel("  ")).toThrow(/empty channel name/);
  });
});

describe("resolveChannels", () => {
  it("keeps the order, drops nodefaults and duplicates", () => {
    const list = resolveChannels(["conda-forge", "nodefaults", "bioconda", "conda-forge", "https://conda.anaconda.org/bioconda/"]);
    expect(list).toEqual([
      { name: "conda-forge", url: "https://conda.anaconda.org/conda-forge" },
      { name: "bioconda", url: "https://conda.anaconda.org/bioconda" },
    ]);
  });

  it("applies the alias to every name", () => {
    expect(resolveChannels(["a", "b"], "https://m/").map((c) => c.url)).toEqual(["https://m/a", "https://m/b"]);
  });

  it("gives an empty list for only nodefaults", () => {
    expect(resolveChannels(["nodefaults"])).toEqual([]);
  });

  it("fails on defaults anywhere in the list", () => {
    expect(() => resolveChannels(["conda-forge", "defaults"])).toThrow(ChannelError);
  });
});

describe("channel URL schemes with digits", () => {
  it("says s3:// is an unsupported scheme", () => {
    expect(() => resolveChannel("s3://bucket/chan")).toThrow(/unsupported channel URL scheme/);
  });
});
