// conda-meta/<name>-<version>-<build>.json: what conda, mamba, syft and SBOM scanners read to
// know what is installed. The repodata record plus where it came from and what it installed.
import type { IndexJson } from "./metadata";
import type { LinkResult } from "./link";

export interface SourceRecord {
  url: string;
  filename: string;
  md5?: string;
  sha256?: string;
  /** The spec the user asked for, when this package was one of theirs. */
  requestedSpec?: string;
}

/** The channel and subdir of a package URL, without credentials (user:password@ or /t/<token>/). */
export function channelAndSubdir(url: string): { channel: string; subdir: string } {
  // https://conda.anaconda.org/conda-forge/linux-64/x.conda -> https://conda.anaconda.org/conda-forge, linux-64
  const u = new URL(url);
  const parts = u.pathname.split("/").filter(Boolean);
  if (parts[0] === "t" && parts.length > 1) parts.splice(0, 2);
  const subdir = parts.length >= 2 ? parts[parts.length - 2]! : "";
  return { channel: `${u.protocol}//${u.host}/${parts.slice(0, -2).join("/")}`.replace(/\/$/, ""), subdir };
}

/** The channel as conda-meta records it: conda writes the channel's URL with the subdir. */
export function channelOf(url: string): string {
  const { channel, subdir } = channelAndSubdir(url);
  return subdir ? `${channel}/${subdir}` : channel;
}

/**
 * The channel's name as conda's history names it (conda's Channel.canonical_name): a channel of
 * the default channel alias, https://conda.anaconda.org, by its name (conda-forge); any other by
 * its URL.
 */
export function canonicalChannel(url: string): string {
  const { channel } = channelAndSubdir(url);
  const alias = "https://conda.anaconda.org/";
  return channel.startsWith(alias) ? channel.slice(alias.length) : channel;
}

/** A package as conda's history lists it: channel/subdir::name-version-build (conda's dist_str). */
export function historyName(p: { url: string; name: string; version: string; build: string }): string {
  const { subdir } = channelAndSubdir(p.url);
  return `${canonicalChannel(p.url)}${subdir ? `/${subdir}` : ""}::${p.name}-${p.version}-${p.build}`;
}

export function condaMetaRecord(index: IndexJson, source: SourceRecord, linked: LinkResult, prefix: string, size?: number): object {
  return {
    ...index,
    fn: source.filename,
    url: source.url,
    channel: channelOf(source.url),
    // What conda derives from noarch (its PackageType); ordinary packages have none.
    ...(index.noarch === "python" ? { package_type: "noarch_python" } : index.noarch === "generic" || index.noarch === true ? { package_type: "noarch_generic" } : {}),
    md5: source.md5,
    sha256: source.sha256,
    ...(size !== undefined ? { size } : {}),
    depends: index.depends ?? [],
    constrains: index.constrains ?? [],
    files: linked.files,
    paths_data: { paths_version: 1, paths: linked.paths },
    requested_spec: source.requestedSpec ?? "",
    requested_specs: source.requestedSpec ? [source.requestedSpec] : [],
    link: { source: "", type: 1 },
    extracted_package_dir: "",
    package_tarball_full_path: "",
    installed_by: "conda-frontend",
    prefix,
  };
}

export function condaMetaName(index: IndexJson): string {
  return `${index.name}-${index.version}-${index.build}.json`;
}
