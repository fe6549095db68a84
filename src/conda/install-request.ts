// The install steps' requests: what the frontend asks a `conda-frontend install` step to do.
// A module of its own so the frontend, which only writes requests, does not load the installer.
import type { PrunePolicy } from "./prune/rules";

export interface InstallRequest {
  /** Path of the downloaded archive inside the step. */
  archive: string;
  url: string;
  filename: string;
  /**
   * The package the lock names: the archive's info/index.json must say the same. Without them
   * (requests written by hand), the file name's name-version-build is the lock's word.
   */
  name?: string;
  version?: string;
  build?: string;
  md5?: string;
  sha256?: string;
  prefix: string;
  /** Where the layer is written: the prefix's files go to outRoot + prefix. */
  outRoot: string;
  /** For noarch: python packages: the environment's python archive (its index.json decides). */
  pythonArchive?: string;
  requestedSpec?: string;
  /** SOURCE_DATE_EPOCH: the time of directories and generated files. */
  epoch?: number;
  /**
   * Compile the package's .py files with the environment's python: the root under which python's
   * own installed prefix is (this step's outRoot for python itself, python's layer otherwise).
   */
  compilePycWith?: string;
  /** image.prune: globs of paths (relative to the prefix) never written, and exceptions. */
  prune?: PrunePolicy;
  /** Where to write the step's size report (outside the layer), if anywhere. */
  report?: string;
}

/**
 * The install tool's process environment, beside its request. glibc's malloc is asked to back its
 * large blocks with transparent huge pages (where the kernel allows it on request, the default
 * "madvise"): the tool decompresses a package's members of up to 64 MiB into one buffer each
 * (larger ones are streamed), and faulting CPython's 28 MB tar in 4 KiB pages costs ~15 ms on a
 * VM, in 2 MiB pages ~3 ms (with the kernel's default defrag "madvise" a fault may compact memory
 * first: 2 of 11 runs here took 27-35 ms). A glibc before 2.35, or a kernel with huge pages off,
 * ignores it.
 */
export const installProcessEnv: Readonly<Record<string, string>> = { GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" };

/** A package archive an install step downloads itself (build-step/download.ts). */
export interface PackageDownload {
  url: string;
  filename: string;
  sha256?: string;
  md5?: string;
  /** From a channel of image.private-channels: sent with the conda-auth secret's headers. */
  private?: boolean;
}

/**
 * A step that installs several packages, one after the other, into one layer (`conda-frontend
 * install --group <request.json>`). Each package's request names its archive's path: in the
 * download cache (archiveCachePath) when the step downloads it, or an HTTP source BuildKit mounted.
 */
export interface InstallGroupRequest {
  /** The folder downloaded archives are kept in: a cache mount all install steps share. */
  cache: string;
  /** What the step downloads before it installs (the packages' archives, python's for noarch). */
  downloads: PackageDownload[];
  /** In the order they are installed: where two ship the same file, the later one's is kept. */
  packages: InstallRequest[];
  /** Downloads at once, and tries per archive. */
  parallel: number;
  attempts: number;
}

/**
 * The variable an install step's group request is passed in (`install --group
 * $CONDA_FRONTEND_INSTALL_REQUEST`: the argument names the variable), when it is short enough.
 */
export const groupRequestVariable = "CONDA_FRONTEND_INSTALL_REQUEST";

/** Where a downloaded archive is kept in the cache folder: its hash, then its file name. */
export function archiveCachePath(cache: string, d: Pick<PackageDownload, "filename" | "sha256" | "md5">): string {
  return `${cache}/${d.sha256 ?? d.md5 ?? "unverified"}-${d.filename}`;
}
