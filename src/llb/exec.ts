// Exec ops: run a command in a container whose root and extra mounts are other states.
import { CacheSharing, MountContentCache, MountType, NetMode, type PbExecOp, type PbMount, type PbOp, type PbPlatform } from "./pb";
import type { Output, Vertex, VertexOptions } from "./vertex";

export type NetworkMode = "sandbox" | "host" | "none";

export type MountSpec =
  | { type: "bind"; dest: string; from: Output | undefined; selector?: string; readonly?: boolean; contentCache?: "off" }
  | { type: "cache"; dest: string; id: string; sharing?: "shared" | "private" | "locked"; from?: Output }
  | { type: "tmpfs"; dest: string; size?: number }
  | { type: "secret"; dest: string; id: string; uid?: number; gid?: number; mode?: number; optional?: boolean };

export interface ExecSpec {
  args: string[];
  env: string[];
  cwd: string;
  user?: string;
  network: NetworkMode;
  /** The container's root filesystem; its changes are output 0. undefined = scratch. */
  root: Output | undefined;
  /**
   * Mount the root read-only, with no output: for tools that write only to their mounts.
   * BuildKit then neither makes a writable layer for the root nor commits one afterwards.
   */
  readonlyRoot?: boolean;
  mounts: MountSpec[];
}

const sharingCode = { shared: CacheSharing.SHARED, private: CacheSharing.PRIVATE, locked: CacheSharing.LOCKED };

export class ExecVertex implements Vertex {
  readonly kind = "exec";
  readonly inputs: readonly Output[];
  /** Mounts in the order BuildKit wants them (root first, parents before children). */
  private readonly ordered: readonly MountSpec[];

  constructor(
    readonly spec: ExecSpec,
    readonly options: VertexOptions,
    readonly platform?: PbPlatform,
  ) {
    if (spec.args.length === 0) throw new Error("exec needs at least one argument");
    for (const m of spec.mounts) {
      if (!m.dest.startsWith("/") || m.dest === "/") throw new Error(`mount target must be an absolute path other than /, got ${JSON.stringify(m.dest)}`);
    }
    const root: MountSpec = { type: "bind", dest: "/", from: spec.root, readonly: spec.readonlyRoot };
    this.ordered = [root, ...[...spec.mounts].sort((a, b) => (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0))];
    const inputs: Output[] = [];
    for (const m of this.ordered) {
      const from = m.type === "bind" || m.type === "cache" ? m.from : undefined;
      if (from && !inputs.includes(from)) inputs.push(from);
    }
    this.inputs = inputs;
  }

  /** Output index of the mount at `dest`: 0 for the root (unless read-only), then writable binds in order. */
  outputIndexOf(dest: string): number {
    let next = 0;
    for (const m of this.ordered) {
      if (m.type !== "bind" || m.readonly) continue;
      if (m.dest === dest) return next;
      next++;
    }
    throw new Error(`exec has no writable mount at ${dest}`);
  }

  toOp(inputIndex: (o: Output) => number): Omit<PbOp, "inputs" | "platform"> {
    let nextOutput = 0;
    const mounts: PbMount[] = this.ordered.map((m) => {
      switch (m.type) {
        case "bind": {
          const writable = !m.readonly;
          const mount: PbMount = { input: m.from ? inputIndex(m.from) : -1, dest: m.dest, output: writable ? nextOutput++ : -1 };
          if (m.type === "bind" && m.selector) mount.selector = m.selector;
          if (!writable) mount.readonly = true;
          if (m.contentCache === "off") mount.contentCache = MountContentCache.OFF;
          return mount;
        }
        case "cache":
          return {
            input: m.from ? inputIndex(m.from) : -1,
            dest: m.dest,
            output: -1,
            mountType: MountType.CACHE,
            cacheOpt: { ID: m.id, sharing: sharingCode[m.sharing ?? "shared"] },
          };
        case "tmpfs":
          return { input: -1, dest: m.dest, output: -1, mountType: MountType.TMPFS, TmpfsOpt: m.size ? { size: m.size } : {} };
        case "secret":
          return {
            input: -1,
            dest: m.dest,
            output: -1,
            mountType: MountType.SECRET,
            secretOpt: { ID: m.id, uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o400, optional: m.optional ?? false },
          };
      }
    });
    const exec: PbExecOp = {
      meta: { args: this.spec.args, env: this.spec.env, cwd: this.spec.cwd, user: this.spec.user },
      mounts,
      network: { sandbox: NetMode.UNSET, host: NetMode.HOST, none: NetMode.NONE }[this.spec.network],
    };
    return { exec };
  }

  requiredCaps(): string[] {
    const caps = new Set(["exec.meta.base", "exec.mount.bind"]);
    if (this.spec.network !== "sandbox") caps.add("exec.meta.network");
    for (const m of this.spec.mounts) {
      if (m.type === "bind" && m.selector) caps.add("exec.mount.selector");
      if (m.type === "bind" && m.contentCache) caps.add("exec.mount.cache.content");
      if (m.type === "cache") {
        caps.add("exec.mount.cache");
        caps.add("exec.mount.cache.sharing");
      }
      if (m.type === "tmpfs") {
        caps.add("exec.mount.tmpfs");
        if (m.size) caps.add("exec.mount.tmpfs.size");
      }
      if (m.type === "secret") caps.add("exec.mount.secret");
    }
    return [...caps].sort();
  }
}
