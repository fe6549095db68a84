// Virtual packages: what the target system provides (__glibc, __linux, __unix, __archspec,
// __cuda), given to the solver as if installed. The build machine is not the target, so they come
// from the base image, overrides, or documented defaults - never from the host.
import { compareStrings } from "../compare";

export interface VirtualPackage {
  name: string;
  version: string;
  build: string;
}

export interface VirtualPackageInputs {
  /** conda subdir, e.g. linux-64. */
  subdir: string;
  /** glibc version read from the base image, if it could be. */
  baseGlibc?: string;
  /** image.virtual-packages (name -> version or version=build). */
  configured: Record<string, string>;
  /** CONDA_OVERRIDE_<NAME> build args (name without prefix, upper case -> value). */
  overrides: Record<string, string>;
}

export const defaultGlibc = "2.28";
export const defaultLinux = "4.18";

const archspecOf: Record<string, string> = {
  "linux-64": "x86_64",
  "linux-aarch64": "aarch64",
  "linux-ppc64le": "ppc64le",
  "linux-s390x": "s390x",
  "linux-armv7l": "armv7l",
};

function split(value: string): { version: string; build: string } {
  const eq = value.indexOf("=");
  return eq >= 0 ? { version: value.slice(0, eq), build: value.slice(eq + 1) } : { version: value, build: "0" };
}

export function virtualPackages(inp: VirtualPackageInputs): VirtualPackage[] {
  if (!inp.subdir.startsWith("linux-")) throw new Error(`only linux targets are supported, not ${inp.subdir}`);
  const byName = new Map<string, VirtualPackage>();
  const set = (name: string, version: string, build = "0") => byName.set(name, { name, version, build });
  set("__unix", "0");
  set("__linux", defaultLinux);
  set("__glibc", inp.baseGlibc ?? defaultGlibc);
  set("__archspec", "1", archspecOf[inp.subdir] ?? "0");
  for (const [name, value] of Object.entries(inp.configured)) {
    const v = split(value);
    set(name, v.version, v.build);
  }
  // Like conda: CONDA_OVERRIDE_X=... wins, and an empty value removes the package.
  for (const [key, value] of Object.entries(inp.overrides)) {
    const name = `__${key.toLowerCase()}`;
    if (value === "") byName.delete(name);
    else {
      const v = split(value);
      set(name, v.version, name === "__archspec" && !value.includes("=") ? byName.get(name)?.build ?? "0" : v.build);
    }
  }
  return [...byName.values()].sort((a, b) => compareStrings(a.name, b.name));
}

export function isVirtualPackageName(name: string): boolean {
  return name.startsWith("__");
}

/** conda subdir for an OCI platform. */
export function subdirOf(platform: { OS: string; Architecture: string; Variant?: string }): string {
  if (platform.OS !== "linux") throw new Error(`conda-frontend builds linux images, not ${platform.OS}`);
  // A Map, not an object literal: linux/constructor must not find Object.prototype's constructor.
  const map = new Map([["amd64", "linux-64"], ["arm64", "linux-aarch64"], ["ppc64le", "linux-ppc64le"], ["s390x", "linux-s390x"]]);
  if (platform.Architecture === "arm" && platform.Variant === "v7") return "linux-armv7l";
  const subdir = map.get(platform.Architecture);
  if (!subdir) throw new Error(`no conda subdir for linux/${platform.Architecture}`);
  return subdir;
}

/** The glibc version in a Debian-style dpkg status file (or distroless status.d entry). */
export function glibcFromDpkgStatus(text: string): string | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    if (!/^Package:\s*libc6\s*$/m.test(stanza)) continue;
    const m = /^Version:\s*(?:\d+:)?(\d+\.\d+)/m.exec(stanza);
    if (m) return m[1];
  }
  return undefined;
}
