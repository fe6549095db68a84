// conda-meta as conda writes it: the record's channel with its subdir, package_type for noarch
// packages, and the channel/subdir::name-version-build strings of conda's history.
import { describe, expect, it } from "vitest";
import { condaMetaRecord } from "../../../src/build-step/install/conda-meta";
import { canonicalChannel, channelOf, historyName } from "../../../src/conda/package-url";

const linked = { files: [], directories: [], bytes: 0, paths: [], scripts: [], pruned: {} };

describe("conda-meta channel names", () => {
  it("records the channel's URL with the subdir, without a token or credentials", () => {
    expect(channelOf("https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda")).toBe("https://conda.anaconda.org/conda-forge/linux-64");
    expect(channelOf("https://repo.example.com/t/tk-123/private/noarch/a-1-py_0.conda")).toBe("https://repo.example.com/private/noarch");
    expect(channelOf("https://user:secret@repo.example.com/private/linux-64/a-1-h0.conda")).toBe("https://repo.example.com/private/linux-64");
  });

  it("names a channel of conda.anaconda.org by its name in the history, any other by its URL", () => {
    expect(canonicalChannel("https://conda.anaconda.org/conda-forge/linux-64/x-1-h0.conda")).toBe("conda-forge");
    expect(canonicalChannel("http://127.0.0.1:8765/linux-64/x-1-h0.conda")).toBe("http://127.0.0.1:8765");
    expect(historyName({ url: "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda", name: "zlib", version: "1.3.1", build: "hb9d3cd8_2" })).toBe("conda-forge/linux-64::zlib-1.3.1-hb9d3cd8_2");
    expect(historyName({ url: "https://repo.example.com/t/tk/private/noarch/a-1-py_0.conda", name: "a", version: "1", build: "py_0" })).toBe("https://repo.example.com/private/noarch::a-1-py_0");
  });
});

describe("condaMetaRecord's package_type", () => {
  const source = { url: "https://conda.anaconda.org/conda-forge/noarch/a-1-py_0.conda", filename: "a-1-py_0.conda" };
  it.each([
    [{ noarch: "python" }, "noarch_python"],
    [{ noarch: "generic" }, "noarch_generic"],
    [{ noarch: true }, "noarch_generic"],
    [{}, undefined],
  ] as const)("index %j gives package_type %s", (extra, expected) => {
    const r = condaMetaRecord({ name: "a", version: "1", build: "py_0", ...extra }, source, linked, "/opt/conda") as Record<string, unknown>;
    expect(r.package_type).toBe(expected);
    expect("package_type" in r).toBe(expected !== undefined);
  });
});
