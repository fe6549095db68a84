// File ops: a chain of mkdir / mkfile / rm / copy actions applied to one state, with other
// states as copy sources. Each action works on the result of the one before.
import type { PbChown, PbFileAction, PbOp, PbPlatform } from "./pb";
import type { Output, Vertex, VertexOptions } from "./vertex";

/** -1 tells BuildKit "unset": keep the source's mode / time. 0 would mean mode 0000 / 1970. */
export const UNSET = -1;

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** Copy the contents of a source folder rather than the folder itself. */
  contents?: boolean;
  followSymlinks?: boolean;
  createDestPath?: boolean;
  allowWildcard?: boolean;
  allowEmptyWildcard?: boolean;
  include?: string[];
  exclude?: string[];
  mode?: number;
  owner?: Owner;
  /** Seconds since the epoch for every copied file; unset keeps the sources' times. */
  timestamp?: number;
}

export type FileAction =
  | { type: "mkdir"; path: string; mode: number; parents: boolean; owner?: Owner; timestamp?: number }
  | { type: "mkfile"; path: string; mode: number; data: Uint8Array; owner?: Owner; timestamp?: number }
  | { type: "rm"; path: string; allowNotFound: boolean; allowWildcard: boolean }
  | { type: "copy"; from: Output | undefined; src: string; dest: string; opts: CopyOptions };

function chown(owner: Owner | undefined): PbChown | undefined {
  return owner ? { user: { byID: owner.uid }, group: { byID: owner.gid } } : undefined;
}

function timestampNs(seconds: number | undefined): number {
  return seconds === undefined ? UNSET : seconds * 1e9;
}

function checkAbsolute(path: string, what: string): void {
  if (!path.startsWith("/")) throw new Error(`${what} path must be absolute, got ${JSON.stringify(path)}`);
}

export class FileVertex implements Vertex {
  readonly kind = "file";
  readonly inputs: readonly Output[];

  constructor(
    /** The state the first action applies to; undefined = scratch. */
    readonly base: Output | undefined,
    readonly actions: readonly FileAction[],
    readonly options: VertexOptions,
    readonly platform?: PbPlatform,
    /**
     * Inputs no action reads, listed after the others. BuildKit counts every input of a file op
     * in its cache key, so a cache export (mode=max) follows them too: results the frontend
     * read back during the build travel with the image's cache this way.
     */
    carried: readonly Output[] = [],
  ) {
    if (actions.length === 0) throw new Error("a file op needs at least one action");
    for (const a of actions) checkAbsolute(a.type === "copy" ? a.dest : a.path, a.type);
    const inputs: Output[] = [];
    const add = (o: Output | undefined) => {
      if (o && !inputs.includes(o)) inputs.push(o);
    };
    add(base);
    for (const a of actions) if (a.type === "copy") add(a.from);
    for (const o of carried) add(o);
    this.inputs = inputs;
  }

  toOp(inputIndex: (o: Output) => number): Omit<PbOp, "inputs" | "platform"> {
    const inputCount = this.inputs.length;
    const actions: PbFileAction[] = this.actions.map((a, i) => {
      // The first action reads the base state; later ones read the previous action's result,
      // addressed as (action index + number of op inputs).
      const input = i === 0 ? (this.base ? inputIndex(this.base) : -1) : inputCount + i - 1;
      const output = i === this.actions.length - 1 ? 0 : -1;
      switch (a.type) {
        case "mkdir":
          return { input, secondaryInput: -1, output, mkdir: { path: a.path, mode: a.mode, makeParents: a.parents, owner: chown(a.owner), timestamp: timestampNs(a.timestamp) } };
        case "mkfile":
          return { input, secondaryInput: -1, output, mkfile: { path: a.path, mode: a.mode, data: a.data, owner: chown(a.owner), timestamp: timestampNs(a.timestamp) } };
        case "rm":
          return { input, secondaryInput: -1, output, rm: { path: a.path, allowNotFound: a.allowNotFound, allowWildcard: a.allowWildcard } };
        case "copy": {
          const o = a.opts;
          return {
            input,
            secondaryInput: a.from ? inputIndex(a.from) : -1,
            output,
            copy: {
              src: a.src,
              dest: a.dest,
              owner: chown(o.owner),
              mode: o.mode ?? UNSET,
              followSymlink: o.followSymlinks ?? false,
              dirCopyContents: o.contents ?? false,
              createDestPath: o.createDestPath ?? true,
              allowWildcard: o.allowWildcard ?? false,
              allowEmptyWildcard: o.allowEmptyWildcard ?? false,
              timestamp: timestampNs(o.timestamp),
              include_patterns: o.include,
              exclude_patterns: o.exclude,
            },
          };
        }
      }
    });
    return { file: { actions } };
  }

  requiredCaps(): string[] {
    const caps = new Set(["file.base"]);
    for (const a of this.actions) {
      if (a.type === "rm" && a.allowWildcard) caps.add("file.rm.wildcard");
      if (a.type === "copy" && (a.opts.include?.length || a.opts.exclude?.length)) caps.add("file.copy.includeexcludepatterns");
    }
    return [...caps].sort();
  }
}
