// The app layer: the workdir and the paths listed in image.app.copy, taken from the build
// context (with .dockerignore applied by BuildKit before transfer), on an empty filesystem so
// the layer does not depend on the base or the environment below it.
import { FileActions, State } from "../llb";
import type { PbPlatform } from "../llb/pb";
import type { Located, SourceRange } from "../input/source";

export interface AppLayerInput {
  platform: PbPlatform;
  workdir: string;
  copy: Located<string>[];
  context: State;
  /** Seconds since the epoch for every file (SOURCE_DATE_EPOCH), or keep the context's times. */
  timestamp?: number;
  /**
   * Results the frontend read during the build (the solve step's lock, the install steps'
   * reports), named as inputs the copy does not read: a cache export of the image then carries
   * them, and a build on another machine importing that cache finds them instead of re-running
   * the steps that made them.
   */
  carry?: readonly State[];
}

const wildcard = /[*?[]/;

export function appLayer(input: AppLayerInput): State {
  const { workdir, copy, context, timestamp } = input;
  let actions = new FileActions().mkdir(workdir, { mode: 0o755, parents: true, timestamp });
  for (const path of copy) {
    const p = path.value;
    if (p === ".") {
      actions = actions.copy(context, "/", workdir, { contents: true, createDestPath: true, timestamp });
    } else if (wildcard.test(p)) {
      const dir = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
      actions = actions.copy(context, "/" + p, `${workdir}/${dir ? dir + "/" : ""}`, { contents: true, createDestPath: true, allowWildcard: true, timestamp });
    } else {
      actions = actions.copy(context, "/" + p, `${workdir}/${p}`, { contents: true, createDestPath: true, timestamp });
    }
  }
  const names = copy.map((c) => c.value).join(" ");
  return State.scratch(input.platform).file(actions, {
    name: copy.length ? `[app] copy ${names} to ${workdir}` : `[app] create ${workdir}`,
    sourceRanges: copy.map((c) => c.range),
    carry: input.carry,
  });
}

/** Include patterns for the context transfer: only what app.copy names is sent. */
export function contextIncludes(copy: Located<string>[]): string[] | undefined {
  if (copy.some((c) => c.value === ".")) return undefined;
  return copy.map((c) => c.value);
}

export interface AppInstallInput {
  /** The image so far: base, environment, app layer. */
  image: State;
  prefix: string;
  workdir: string;
  ignoreCache: boolean;
  sourceRanges: SourceRange[];
}

/**
 * image.app.install: pip. `pip install --no-deps` of the copied app into the environment, in a
 * step of its own above everything else: a code change re-runs this and the app copy, never the
 * environment. The app is built from a scratch copy, so build leftovers stay out of the image.
 */
export function appInstall(input: AppInstallInput): State {
  return input.image
    .run({
      args: [
        `${input.prefix}/bin/python`, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
        "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--root-user-action=ignore", "/tmp/app",
      ],
      env: { PATH: `${input.prefix}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: "/tmp" },
      cwd: "/",
      user: "0:0",
      network: "none",
      mounts: [
        { type: "bind", dest: "/tmp/app", from: input.image, selector: input.workdir },
        { type: "tmpfs", dest: "/tmp/build" },
      ],
      name: `[app] pip install --no-deps ${input.workdir}`,
      ignoreCache: input.ignoreCache,
      sourceRanges: input.sourceRanges,
    })
    .root();
}
