// The app layer: the workdir and the paths listed in image.app.copy, taken from the build
// context (with .dockerignore applied by BuildKit before transfer), on an empty filesystem so
// the layer does not depend on the base or the environment below it (or, where layers are
// stacked by copies, written straight onto the image below).
import { FileActions, State } from "../llb";
import { type ForeignPip, foreignPipScript, foreignPythonExec, foreignRoot, foreignRules, pipStepScript } from "./pip";
import type { PbPlatform } from "../llb/pb";
import type { AppCopy } from "../input/image-section";
import type { SourceRange } from "../input/source";

export interface AppLayerInput {
  platform: PbPlatform;
  workdir: string;
  copy: AppCopy[];
  context: State;
  /** The named build contexts the `from:` entries read, by name. */
  named?: Readonly<Record<string, State>>;
  /** Seconds since the epoch for every file (SOURCE_DATE_EPOCH), or keep the context's times. */
  timestamp?: number;
  /**
   * Results the frontend read during the build (the solve step's lock, the install steps'
   * reports), named as inputs the copy does not read: a cache export of the image then carries
   * them, and a build on another machine importing that cache finds them instead of re-running
   * the steps that made them.
   */
  carry?: readonly State[];
  /**
   * Where the layer's file op writes: an empty filesystem (the default: a layer that depends on
   * nothing below it, for the merge op), or, where layers are stacked by copies (Docker's classic
   * store), the image below, so the app's files are written once instead of written on scratch
   * and then copied onto it (a code-only rebuild runs one file op, not two). Only for an app layer
   * of one op (no `from:` entries): each op is a layer there.
   */
  onto?: State;
}

const wildcard = /[*?[]/;

/** One entry's copy from `source` (its context's root) to under the workdir. */
function copyEntry(actions: FileActions, source: State, entry: AppCopy, workdir: string, timestamp: number | undefined): FileActions {
  const p = entry.value;
  const dest = entry.dest ?? p;
  if (p === ".") return actions.copy(source, "/", dest === "." ? workdir : `${workdir}/${dest}`, { contents: true, createDestPath: true, timestamp });
  if (wildcard.test(p)) {
    const dir = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
    return actions.copy(source, "/" + p, `${workdir}/${dir ? dir + "/" : ""}`, { contents: true, createDestPath: true, allowWildcard: true, timestamp });
  }
  return actions.copy(source, "/" + p, `${workdir}/${dest}`, { contents: true, createDestPath: true, timestamp });
}

/** How an entry reads in a vertex name or the image's history: `web`, `assets:/static -> static`. */
export function describeCopy(entry: AppCopy): string {
  const src = entry.from !== undefined ? `${entry.from}:/${entry.value === "." ? "" : entry.value}` : entry.value;
  return entry.dest !== undefined ? `${src} -> ${entry.dest}` : src;
}

/**
 * The build context's entries in one file op (with the workdir), then one op per named context,
 * named after it: a path missing from a context fails the step that names the context. All of
 * it on an empty filesystem, one layer.
 */
export function appLayer(input: AppLayerInput): State {
  const { workdir, copy, context, timestamp } = input;
  const own = copy.filter((c) => c.from === undefined);
  let actions = new FileActions().mkdir(workdir, { mode: 0o755, parents: true, timestamp });
  for (const entry of own) actions = copyEntry(actions, context, entry, workdir, timestamp);
  const names = own.map((c) => c.value).join(" ");
  if (input.onto && copy.some((c) => c.from !== undefined)) throw new Error("an app layer with from: entries is more than one op: it cannot be written onto the image below");
  let state = (input.onto ?? State.scratch(input.platform)).file(actions, {
    name: own.length ? `[app] copy ${names} to ${workdir}` : `[app] create ${workdir}`,
    sourceRanges: own.map((c) => c.range),
    carry: input.carry,
  });
  for (const name of [...new Set(copy.flatMap((c) => (c.from === undefined ? [] : [c.from])))]) {
    const entries = copy.filter((c) => c.from === name);
    const source = input.named?.[name];
    if (!source) throw new Error(`the app layer reads build context ${JSON.stringify(name)}, which the plan does not hold`);
    const copies = entries.reduce((a, entry) => copyEntry(a, source, entry, workdir, timestamp), new FileActions());
    state = state.file(copies, { name: `[app] copy from build context ${name}: ${entries.map(describeCopy).join(", ")} to ${workdir}`, sourceRanges: entries.map((c) => c.range) });
  }
  return state;
}

/** Include patterns for a context's transfer: only what app.copy names is sent. */
export function contextIncludes(copy: readonly AppCopy[]): string[] | undefined {
  if (copy.some((c) => c.value === ".")) return undefined;
  return copy.map((c) => c.value);
}

export interface AppInstallInput {
  /** The image the app is installed into: base and environment, with the app layer unless `app` is given. */
  image: State;
  /** The app layer, when it is not in `image` (stacked above the install by the caller). */
  app?: State;
  prefix: string;
  workdir: string;
  ignoreCache: boolean;
  sourceRanges: SourceRange[];
  /** A foreign platform: the app is built and installed by the build machine's python (pip.ts). */
  foreign?: ForeignPip;
  /** Whether a foreign install compiles the app's .pyc (a native pip does by default). */
  compilePyc?: boolean;
}

/**
 * image.app.install: pip for a platform the build machine cannot run: foreign_pip.py --app builds
 * the app into a wheel with the build machine's python of the target's version (a pure-python
 * wheel only: one with compiled code is an error) and installs it into the image at /target.
 */
function foreignAppInstall(input: AppInstallInput, foreign: ForeignPip): State {
  const rules = { compile: input.compilePyc ?? true, remove: [], keep: [], foreign: foreignRules(input.prefix, foreign) };
  const files = new FileActions().mkfile("/rules.json", JSON.stringify(rules), { timestamp: 0 }).mkfile("/pip_step.py", pipStepScript, { timestamp: 0 }).mkfile("/foreign_pip.py", foreignPipScript, { timestamp: 0 });
  const runner = foreignPythonExec(foreign.python, input.prefix);
  return runner.root
    .run({
      args: [`${input.prefix}/bin/python`, "-S", "/in/foreign_pip.py", "--app", "/tmp/app", "/in/rules.json"],
      env: { PATH: `${input.prefix}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: "/tmp", PYTHONPATH: `${foreignRoot}${input.prefix}/${rules.foreign.site}` },
      cwd: "/",
      user: "0:0",
      network: "none",
      mounts: [
        ...runner.mounts,
        { type: "bind", dest: foreignRoot, from: input.image, contentCache: "off" },
        { type: "bind", dest: "/in", from: State.scratch().file(files, { name: "[app] pip_step.py" }), readonly: true },
        { type: "bind", dest: "/tmp/app", from: input.app ?? input.image, selector: input.workdir },
        { type: "tmpfs", dest: "/tmp/build" },
      ],
      name: `[app] pip install --no-deps ${input.workdir} (for ${foreign.subdir}, by the build machine's python)`,
      ignoreCache: input.ignoreCache,
      sourceRanges: input.sourceRanges,
    })
    .mount(foreignRoot);
}

/**
 * image.app.install: pip. `pip install --no-deps` of the copied app into the environment, in a
 * step of its own above the environment's: a code change re-runs this and the app copy, never the
 * environment. The app is built from a scratch copy, so build leftovers stay out of the image.
 */
export function appInstall(input: AppInstallInput): State {
  if (input.foreign) return foreignAppInstall(input, input.foreign);
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
        { type: "bind", dest: "/tmp/app", from: input.app ?? input.image, selector: input.workdir },
        { type: "tmpfs", dest: "/tmp/build" },
      ],
      name: `[app] pip install --no-deps ${input.workdir}`,
      ignoreCache: input.ignoreCache,
      sourceRanges: input.sourceRanges,
    })
    .root();
}
