// conda-meta/<name>-<version>-<build>.json: what conda, mamba, syft and SBOM scanners read to
// know what is installed. The repodata record plus where it came from and what it installed.
import type { IndexJson } from "./metadata";
import type { LinkResult } from "./link";
import { channelOf } from "../../conda/package-url";

export interface SourceRecord {
  url: string;
  filename: string;
  md5?: string;
  sha256?: string;
  /** The spec the user asked for, when this package was one of theirs. */
  requestedSpec?: string;
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
