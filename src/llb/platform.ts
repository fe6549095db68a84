// OCI platforms: parsing `os/arch[/variant]` as users write them, and normalising to what
// BuildKit expects (amd64 not x86_64, arm64 without the v8 variant).
import type { PbPlatform } from "./pb";

const archAliases: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm" };

export function normalizePlatform(p: PbPlatform): PbPlatform {
  // Own keys only: "constructor" or "__proto__" is an (invalid) architecture, not Object's.
  const arch = Object.hasOwn(archAliases, p.Architecture) ? archAliases[p.Architecture]! : p.Architecture;
  let variant = p.Variant || undefined;
  // As containerd normalises: arm64's only variant is implied, arm defaults to v7.
  if (arch === "arm64" && (variant === "v8" || variant === "8")) variant = undefined;
  if (arch === "arm" && variant === undefined) variant = "v7";
  if (arch === "arm" && variant && /^\d+$/.test(variant)) variant = `v${variant}`;
  if (p.Architecture === "armhf") variant = "v7";
  if (p.Architecture === "armel") variant = "v6";
  const out: PbPlatform = { OS: p.OS, Architecture: arch };
  if (variant) out.Variant = variant;
  return out;
}

export function parsePlatform(spec: string): PbPlatform {
  const parts = spec.trim().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((s) => !/^[a-z0-9_.-]+$/i.test(s))) {
    throw new Error(`invalid platform ${JSON.stringify(spec)}: expected os/arch or os/arch/variant, e.g. linux/amd64`);
  }
  const [os, arch, variant] = parts as [string, string, string?];
  return normalizePlatform({ OS: os.toLowerCase(), Architecture: arch.toLowerCase(), Variant: variant?.toLowerCase() });
}

export function formatPlatform(p: PbPlatform): string {
  return [p.OS, p.Architecture, p.Variant].filter(Boolean).join("/");
}

/** The platform of the machine the frontend runs on (the daemon's native platform). */
export function hostPlatform(): PbPlatform {
  const arch = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" }[process.arch as string] ?? process.arch;
  return normalizePlatform({ OS: "linux", Architecture: arch });
}

/** The same platform named twice (linux/amd64,linux/x86_64) is built once. */
export function uniquePlatforms(list: PbPlatform[]): PbPlatform[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const id = formatPlatform(p);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
