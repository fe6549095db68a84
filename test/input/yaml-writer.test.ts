import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { writeYaml, type YamlValue } from "../../src/input/yaml-writer";

const tricky = [
  "", " ", "a b", " lead", "trail ", "null", "Null", "~", "true", "False", "yes", "No", "on", "OFF", "y", "n", "nan", ".nan", "inf", ".inf", "-.inf",
  "1", "1.0", "-1", "+1", "1e3", "6e5", "6E+5", "1_000", "0x1F", "0o17", "0b101", "017", "1:20", "1:20:30.5", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
  "3.12.1", "1.26.4", "6aa7b7e7700a16fa662d8ee5cffbad60", "2c040249ebe5793ee2383ca70227f97ebf2248c49c922cec6988b2c48671c5f3", "12345", "1.0a1", "1.0.post1",
  "*", "&a", "!tag", "%x", "@x", "`x", "|", ">", ">=3.12", "<4", "=1.0", "?", "? a", "- a", "-", "a: b", "a:", "a:b", "#x", "a #b", "a#b", "[x]", "{x}", ",", "'q'", '"dq"',
  "multi\nline", "tab\there", "back\\slash", "ünïcode", "emoji 🐍", "a\u2028b", "\u0007bell",
  "http://127.0.0.1:8768/linux-64/greet-1.0-h00ce531_0.conda", "https://conda.anaconda.org/conda-forge", "conda-forge", "python_abi", "__glibc", "lib/python3.12", "3.12.*", "==2", "=", "=1.0", "1.0,!=1.1", "1.0|1.1", "1.2 *_cpython", "a*", "a!b", "a>b", "a b #c", "a b#c", "a  b", "1 #x",
];

describe("writeYaml", () => {
  it("writes every string so that YAML 1.2 and 1.1 read back the same string", () => {
    const doc = { values: tricky, keys: Object.fromEntries(tricky.map((s, i) => [s, i])) };
    const text = writeYaml(doc);
    for (const version of ["1.2", "1.1"] as const) {
      expect(parse(text, { version })).toEqual(doc);
    }
  });

  it("writes the same text as the yaml library for the lock's shape", () => {
    const doc: { [key: string]: YamlValue } = {
      version: 1,
      metadata: { content_hash: { "linux-64": "ab12", "osx-arm64": "9f" }, channels: [{ url: "http://127.0.0.1:8765", used_env_vars: [] }], platforms: ["linux-64"], sources: ["environment.yml"], custom_metadata: { "conda-frontend": "1" } },
      package: [
        { name: "python", version: "3.12.1", manager: "conda", platform: "linux-64", dependencies: { bzip2: ">=1.0.8,<2.0a0", libffi: "*", libgcc: "3.12.*", openssl: "3.0.19,!=3.0.20", tk: "==8.6", x: "=1.0", yy: "1.0|1.1", z: "1.2 *_cpython" }, url: "http://127.0.0.1:8765/linux-64/python-3.12.1-hbac6bf3_0_cpython.conda", hash: { md5: "6aa7b7e7700a16fa662d8ee5cffbad60", sha256: "2c04" }, category: "main", optional: false },
        { name: "tzdata", version: "2024a", manager: "conda", platform: "linux-64", dependencies: {}, url: "http://x/noarch/tzdata-2024a-0.conda", hash: { sha256: "12e5" }, category: "main", optional: false },
        { name: "greet", version: "1.0", manager: "pip", platform: "linux-64", dependencies: { "greet-data": "==2" }, url: "http://x/greet-1.0.whl", hash: {}, category: "main", optional: true },
      ],
      nested: [[], [1, [2, { a: null }]], {}, { deep: { deeper: [true, 0.5] } }],
    };
    expect(writeYaml(doc)).toBe(stringify(doc, { lineWidth: 0, sortMapEntries: false }));
  });

  // Found by test/fuzz: a key over 1024 characters was written as an implicit key, which YAML
  // cannot read ("The : indicator must be at most 1024 chars after the start of an implicit key").
  it("writes a key longer than 1024 characters explicitly, as the yaml library does", () => {
    const long = "k".repeat(1025);
    const doc = { [long]: "v", a: { [long]: { b: 1 } }, l: [{ [long]: [1, 2], c: 3 }, { d: 1, [long]: "x" }, { [long]: [] }], ["k".repeat(1024)]: 1 };
    const text = writeYaml(doc);
    expect(text).toBe(stringify(doc, { lineWidth: 0, sortMapEntries: false }));
    expect(text.split("\n").map((l) => l.replaceAll(long, "K")).slice(0, 6)).toEqual(["? K", ": v", "a:", "  ? K", "  : b: 1", "l:"]);
    for (const version of ["1.2", "1.1"] as const) expect(parse(text, { version })).toEqual(doc);
  });

  it("refuses numbers YAML cannot hold", () => {
    expect(() => writeYaml({ x: Number.NaN })).toThrow(/cannot write NaN/);
  });
});
