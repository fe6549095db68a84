// State: an immutable handle on a filesystem (an op output) plus the settings later exec steps
// inherit (env, cwd, user, platform, network). Every method returns a new State; nothing is
// mutated, so a State can be shared freely between stages.
import { ExecVertex, type MountSpec, type NetworkMode } from "./exec";
import { type CopyOptions, type FileAction, FileVertex, type Owner } from "./file";
import { copyLayers, MergeVertex } from "./merge";
import type { PbPlatform } from "./pb";
import { httpSource, type HttpSourceOptions, imageSource, type ImageSourceOptions, localSource, type LocalSourceOptions, ociLayoutSource, type OciLayoutSourceOptions } from "./source";
import type { Output, VertexOptions } from "./vertex";

export interface StateSettings {
  platform?: PbPlatform;
  env: readonly string[];
  cwd: string;
  user?: string;
  network: NetworkMode;
}

const defaultSettings: StateSettings = {
  env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  cwd: "/",
  network: "sandbox",
};

export type StateMount =
  | {
      type: "bind";
      dest: string;
      from: State;
      selector?: string;
      readonly?: boolean;
      /**
       * "off": the step's cache key names this input by how it was made, never by its content.
       * BuildKit hashes the content of every mount that is read-only, has no output or mounts its
       * input's whole filesystem (all but the root) before the step can start: for an environment
       * mounted to write into, or a package archive, that is every byte read once more, on the
       * build's critical path, for a key that adds nothing here (our inputs' definitions already
       * name their content: checksums of downloads, locked packages).
       */
      contentCache?: "off";
    }
  | { type: "cache"; dest: string; id: string; sharing?: "shared" | "private" | "locked" }
  | { type: "tmpfs"; dest: string; size?: number }
  | { type: "secret"; dest: string; id: string; uid?: number; gid?: number; mode?: number; optional?: boolean };

export interface RunOptions extends VertexOptions {
  args: string[];
  mounts?: StateMount[];
  env?: Record<string, string>;
  cwd?: string;
  user?: string;
  network?: NetworkMode;
  /** The root read-only and not an output (see ExecSpec.readonlyRoot). */
  readonlyRoot?: boolean;
}

export class State {
  /** Prefer the static constructors and methods; this one is for the llb module itself. */
  constructor(
    readonly output: Output | undefined,
    readonly settings: StateSettings,
  ) {}

  static scratch(platform?: PbPlatform): State {
    return new State(undefined, { ...defaultSettings, platform });
  }

  static image(ref: string, platform: PbPlatform, opts?: ImageSourceOptions & { env?: string[]; cwd?: string; user?: string }): State {
    const { env, cwd, user, ...sourceOpts } = opts ?? {};
    const vertex = imageSource(ref, platform, sourceOpts);
    return new State({ vertex, index: 0 }, { ...defaultSettings, platform, env: env ?? defaultSettings.env, cwd: cwd || "/", user });
  }

  static ociLayout(ref: string, platform: PbPlatform, opts: OciLayoutSourceOptions): State {
    return new State({ vertex: ociLayoutSource(ref, platform, opts), index: 0 }, { ...defaultSettings, platform });
  }

  static local(name: string, opts?: LocalSourceOptions): State {
    return new State({ vertex: localSource(name, opts), index: 0 }, defaultSettings);
  }

  static http(url: string, opts?: HttpSourceOptions): State {
    return new State({ vertex: httpSource(url, opts), index: 0 }, defaultSettings);
  }

  get isScratch(): boolean {
    return this.output === undefined;
  }

  private with(settings: Partial<StateSettings>): State {
    return new State(this.output, { ...this.settings, ...settings });
  }

  withPlatform(platform: PbPlatform): State {
    return this.with({ platform });
  }

  withEnv(name: string, value: string): State {
    return this.with({ env: [...this.settings.env.filter((e) => !e.startsWith(name + "=")), `${name}=${value}`] });
  }

  withCwd(cwd: string): State {
    return this.with({ cwd });
  }

  withUser(user: string): State {
    return this.with({ user });
  }

  withNetwork(network: NetworkMode): State {
    return this.with({ network });
  }

  /** Runs a command on this state. The returned exec gives the new root and writable mounts. */
  run(opts: RunOptions): ExecResult {
    const { args, mounts, env, cwd, user, network, readonlyRoot, ...vertexOptions } = opts;
    let settings: State = this;
    for (const [k, v] of Object.entries(env ?? {})) settings = settings.withEnv(k, v);
    const specMounts: MountSpec[] = (mounts ?? []).map((m) => (m.type === "bind" ? { ...m, from: m.from.output } : m));
    const vertex = new ExecVertex(
      {
        args,
        env: [...settings.settings.env],
        cwd: cwd ?? this.settings.cwd,
        user: user ?? this.settings.user,
        network: network ?? this.settings.network,
        root: this.output,
        readonlyRoot,
        mounts: specMounts,
      },
      { name: args.join(" "), ...vertexOptions },
      this.settings.platform,
    );
    return new ExecResult(vertex, this.settings);
  }

  /**
   * Applies file actions (see FileActions) to this state. `carry`: states the op does not read
   * but names as inputs, so its cache key and a cache export include them (FileVertex).
   */
  file(actions: FileActions, opts?: VertexOptions & { carry?: readonly State[] }): State {
    const { carry, ...vertexOptions } = opts ?? {};
    const carried = (carry ?? []).flatMap((s) => (s.output ? [s.output] : []));
    const vertex = new FileVertex(this.output, actions.list, { name: actions.describe(), ...vertexOptions }, this.settings.platform, carried);
    return new State({ vertex, index: 0 }, this.settings);
  }

  /** Shorthand for one copy from `from:src` to `dest` on this state. */
  copy(from: State, src: string, dest: string, opts: CopyOptions = {}, vertexOptions?: VertexOptions): State {
    return this.file(new FileActions().copy(from, src, dest, opts), vertexOptions);
  }
}

/** The result of `State.run`: the root filesystem after the command, and its writable mounts. */
export class ExecResult {
  constructor(
    private readonly vertex: ExecVertex,
    private readonly settings: StateSettings,
  ) {}

  root(): State {
    return stateOf({ vertex: this.vertex, index: this.vertex.outputIndexOf("/") }, this.settings);
  }

  mount(dest: string): State {
    return stateOf({ vertex: this.vertex, index: this.vertex.outputIndexOf(dest) }, { ...this.settings, env: [], cwd: "/" });
  }
}

function stateOf(output: Output, settings: StateSettings): State {
  return new State(output, settings);
}

/** An immutable list of file actions, built fluently: new FileActions().mkdir(...).copy(...). */
export class FileActions {
  constructor(readonly list: readonly FileAction[] = []) {}

  private add(action: FileAction): FileActions {
    return new FileActions([...this.list, action]);
  }

  mkdir(path: string, opts: { mode?: number; parents?: boolean; owner?: Owner; timestamp?: number } = {}): FileActions {
    return this.add({ type: "mkdir", path, mode: opts.mode ?? 0o755, parents: opts.parents ?? true, owner: opts.owner, timestamp: opts.timestamp });
  }

  mkfile(path: string, data: string | Uint8Array, opts: { mode?: number; owner?: Owner; timestamp?: number } = {}): FileActions {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.add({ type: "mkfile", path, data: bytes, mode: opts.mode ?? 0o644, owner: opts.owner, timestamp: opts.timestamp });
  }

  rm(path: string, opts: { allowNotFound?: boolean; allowWildcard?: boolean } = {}): FileActions {
    return this.add({ type: "rm", path, allowNotFound: opts.allowNotFound ?? false, allowWildcard: opts.allowWildcard ?? false });
  }

  copy(from: State, src: string, dest: string, opts: CopyOptions = {}): FileActions {
    return this.add({ type: "copy", from: from.output, src, dest, opts });
  }

  describe(): string {
    return this.list
      .map((a) => (a.type === "copy" ? `copy ${a.src} ${a.dest}` : `${a.type} ${a.path}`))
      .join(", ");
  }
}

/**
 * The states' whole trees copied onto each other, bottom to top, by one file op on scratch: one
 * layer holding several (unlike merge, which keeps each a layer of its own).
 */
export function copyTogether(states: State[], opts?: VertexOptions): State {
  let actions = new FileActions();
  for (const s of states) actions = actions.copy(s, "/", "/", { contents: true, createDestPath: true });
  return State.scratch().file(actions, opts);
}

/** Stacks states bottom to top with BuildKit's merge op (needs the daemon's `mergeop` cap). */
export function merge(states: State[], opts?: VertexOptions): State {
  return stack(states, "merge", opts);
}

/**
 * How layers are stacked: `merge` (the merge op: each input a layer, nothing copied) or `copy`
 * (each upper layer copied onto those below, one copy op each: the same layers on a daemon
 * without the merge op, such as Docker's classic image store).
 */
export type StackMethod = "merge" | "copy";

/** The method a daemon with these LLB caps can run (the stages choose; marshal only checks). */
export function stackMethodFor(caps: ReadonlySet<string> | undefined): StackMethod {
  return !caps || caps.has("mergeop") ? "merge" : "copy";
}

/** Stacks states bottom to top, each a layer of its own, by `method`. Scratch states add nothing. */
export function stack(states: State[], method: StackMethod, opts?: VertexOptions): State {
  const layers = states.filter((s) => !s.isScratch);
  if (layers.length === 0) return State.scratch(states[0]?.settings.platform);
  if (layers.length === 1) return layers[0]!;
  const bottom = layers[0]!;
  const outputs = layers.map((s) => s.output!);
  const options = { name: `merge ${layers.length} layers`, ...opts };
  const vertex = method === "merge" ? new MergeVertex(outputs, options, bottom.settings.platform) : copyLayers(outputs, options, bottom.settings.platform);
  return stateOf({ vertex, index: 0 }, bottom.settings);
}
