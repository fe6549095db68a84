// Virtual packages come from the base image, the file and CONDA_OVERRIDE_*, never from the host.
import { describe, expect, it } from "vitest";
import { defaultGlibc, defaultLinux, glibcFromDpkgStatus, isVirtualPackageName, subdirOf, virtualPackages } from "../../src/conda/virtual-packages";

const vp = (subdir: string, more: { baseGlibc?: string; configured?: Record<string, string>; overrides?: Record<string, string> } = {}) =>
  virtualPackages({ subdir, baseGlibc: more.baseGlibc, configured: more.configured ?? {}, overrides: more.overrides ?? {} });

const byName = (list: ReturnType<typeof vp>) => Object.fromEntries(list.map((v) => [v.name, `${v.version}=${v.build}`]));

describe("virtualPackages", () => {
  it("has documented defaults for linux-64", () => {
    expect(defaultGlibc).toBe("2.28");
    expect(defaultLinux).toBe("4.18");
    expect(vp("linux-64")).toEqual([
      { name: "__archspec", version: "1", build: "x86_64" },
      { name: "__glibc", version: "2.28", build: "0" },
      { name: "__linux", version: "4.18", build: "0" },
      { name: "__unix", version: "0", build: "0" },
    ]);
  });

  it("uses the target's architecture for __archspec", () => {
    expect(byName(vp("linux-aarch64")).__archspec).toBe("1=aarch64");
    expect(byName(vp("linux-armv7l")).__archspec).toBe("1=armv7l");
  });

  it("uses the base image's glibc when it is known", () => {
    expect(byName(vp("linux-64", { baseGlibc: "2.36" })).__glibc).toBe("2.36=0");
  });

  it("adds image.virtual-packages and lets them replace defaults, with an optional build", () => {
    const list = byName(vp("linux-64", { baseGlibc: "2.36", configured: { __cuda: "12.2", __glibc: "2.31=0" } }));
    expect(list.__cuda).toBe("12.2=0");
    expect(list.__glibc).toBe("2.31=0");
    expect(byName(vp("linux-64", { configured: { __glibc: "2.31=custom" } })).__glibc).toBe("2.31=custom");
  });

  it("lets CONDA_OVERRIDE_GLIBC win over the file and the base", () => {
    const list = byName(vp("linux-64", { baseGlibc: "2.36", configured: { __glibc: "2.31" }, overrides: { GLIBC: "2.35" } }));
    expect(list.__glibc).toBe("2.35=0");
  });

  it("removes a package for an empty override", () => {
    const list = vp("linux-64", { configured: { __cuda: "12.2" }, overrides: { CUDA: "", GLIBC: "" } });
    expect(list.map((v) => v.name)).toEqual(["__archspec", "__linux", "__unix"]);
  });

  it("adds __cuda for CONDA_OVERRIDE_CUDA", () => {
    expect(vp("linux-64", { overrides: { CUDA: "12.4" } })).toContainEqual({ name: "__cuda", version: "12.4", build: "0" });
  });

  it("keeps __archspec's build when only its version is overridden", () => {
    expect(byName(vp("linux-aarch64", { overrides: { ARCHSPEC: "2" } })).__archspec).toBe("2=aarch64");
  });

  it("returns the packages sorted by name", () => {
    const names = vp("linux-64", { configured: { __cuda: "12.2", __zz: "1", __aa: "1" } }).map((v) => v.name);
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe("__aa");
    expect(names.at(-1)).toBe("__zz");
  });

  it("refuses non-linux subdirs", () => {
    expect(() => vp("osx-arm64")).toThrow(/only linux targets are supported, not osx-arm64/);
    expect(() => vp("win-64")).toThrow(/only linux/);
  });

  it("knows virtual package names", () => {
    expect(isVirtualPackageName("__glibc")).toBe(true);
    expect(isVirtualPackageName("glibc")).toBe(false);
  });
});

describe("subdirOf", () => {
  it.each([
    [{ OS: "linux", Architecture: "amd64" }, "linux-64"],
    [{ OS: "linux", Architecture: "arm64" }, "linux-aarch64"],
    [{ OS: "linux", Architecture: "arm64", Variant: "v8" }, "linux-aarch64"],
    [{ OS: "linux", Architecture: "arm", Variant: "v7" }, "linux-armv7l"],
    [{ OS: "linux", Architecture: "ppc64le" }, "linux-ppc64le"],
    [{ OS: "linux", Architecture: "s390x" }, "linux-s390x"],
  ])("maps %j to %s", (platform, subdir) => {
    expect(subdirOf(platform)).toBe(subdir);
  });

  it("throws for other platforms", () => {
    expect(() => subdirOf({ OS: "windows", Architecture: "amd64" })).toThrow(/builds linux images, not windows/);
    expect(() => subdirOf({ OS: "linux", Architecture: "riscv64" })).toThrow(/no conda subdir for linux\/riscv64/);
    expect(() => subdirOf({ OS: "linux", Architecture: "arm", Variant: "v6" })).toThrow(/no conda subdir/);
    expect(() => subdirOf({ OS: "linux", Architecture: "386" })).toThrow(/no conda subdir/);
  });

  // Found by test/fuzz: the lookup was an object literal, so these returned Object.prototype's members.
  it.each(["constructor", "__proto__", "toString"])("throws for linux/%s", (arch) => {
    expect(() => subdirOf({ OS: "linux", Architecture: arch })).toThrow(`no conda subdir for linux/${arch}`);
  });
});

describe("glibcFromDpkgStatus", () => {
  const stanza = (pkg: string, version: string) =>
    `Package: ${pkg}\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 12345\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: ${version}\nDepends: libgcc-s1\nDescription: GNU C Library: Shared libraries\n Contains the standard libraries that are used by nearly all programs on\n the system.\n`;

  it("finds libc6 among several stanzas", () => {
    const text = [stanza("base-files", "12.4+deb12u5"), stanza("libc6", "2.36-9+deb12u10"), stanza("libc-bin", "2.38-1"), stanza("zlib1g", "1:1.2.13.dfsg-1")].join("\n");
    expect(glibcFromDpkgStatus(text)).toBe("2.36");
  });

  it("skips an epoch", () => {
    expect(glibcFromDpkgStatus(stanza("libc6", "1:2.31-0ubuntu9.16"))).toBe("2.31");
    expect(glibcFromDpkgStatus(stanza("libc6", "1:2.31-0ubuntu9"))).toBe("2.31");
  });

  it("does not take libc6-dev or libc-bin for libc6", () => {
    expect(glibcFromDpkgStatus([stanza("libc6-dev", "2.40-1"), stanza("libc-bin", "2.40-1")].join("\n"))).toBeUndefined();
  });

  it("returns undefined without libc6", () => {
    expect(glibcFromDpkgStatus([stanza("base-files", "12.4"), stanza("tzdata", "2024a-0+deb12u1")].join("\n"))).toBeUndefined();
    expect(glibcFromDpkgStatus("")).toBeUndefined();
  });
});
