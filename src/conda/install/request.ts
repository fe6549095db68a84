// The install step's request: what the frontend asks one `conda-frontend install` step to do.
// A module of its own so the frontend, which only writes requests, does not load the installer.
import type { PrunePolicy } from "../prune/rules";

export interface InstallRequest {
  /** Path of the downloaded archive inside the step. */
  archive: string;
  url: string;
  filename: string;
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

/** Where the frontend puts the install step's request (JSON). */
export const installRequestVariable = "CONDA_FRONTEND_INSTALL_REQUEST";
