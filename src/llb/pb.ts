// TypeScript shapes of the LLB messages (proto/buildkit/ops.proto), as plain objects that
// protobufjs encodes. Optional fields left undefined are not written; proto3 zero values are
// omitted by the encoder as well, matching Go's output byte for byte.

export interface PbPlatform {
  Architecture: string;
  OS: string;
  Variant?: string;
}

export interface PbInput {
  digest: string;
  index?: number;
}

export interface PbEntry<V> {
  key: string;
  value: V;
}

export interface PbSourceOp {
  identifier: string;
  attrs?: PbEntry<string>[];
}

export const NetMode = { UNSET: 0, HOST: 1, NONE: 2 } as const;
export const MountType = { BIND: 0, SECRET: 1, SSH: 2, CACHE: 3, TMPFS: 4 } as const;
export const CacheSharing = { SHARED: 0, PRIVATE: 1, LOCKED: 2 } as const;
export const MountContentCache = { DEFAULT: 0, ON: 1, OFF: 2 } as const;

export interface PbMount {
  input: number;
  selector?: string;
  dest: string;
  output: number;
  readonly?: boolean;
  mountType?: number;
  TmpfsOpt?: { size?: number };
  cacheOpt?: { ID: string; sharing?: number };
  secretOpt?: { ID: string; uid?: number; gid?: number; mode?: number; optional?: boolean };
  /** MountContentCache. */
  contentCache?: number;
}

export interface PbExecOp {
  meta: { args: string[]; env?: string[]; cwd?: string; user?: string; hostname?: string };
  mounts: PbMount[];
  network?: number;
  security?: number;
}

export interface PbChown {
  user?: { byID?: number; byName?: { name: string; input?: number } };
  group?: { byID?: number; byName?: { name: string; input?: number } };
}

export interface PbFileActionCopy {
  src: string;
  dest: string;
  owner?: PbChown;
  mode: number;
  followSymlink?: boolean;
  dirCopyContents?: boolean;
  createDestPath?: boolean;
  allowWildcard?: boolean;
  allowEmptyWildcard?: boolean;
  timestamp: number;
  include_patterns?: string[];
  exclude_patterns?: string[];
}

export interface PbFileAction {
  input: number;
  secondaryInput: number;
  output: number;
  copy?: PbFileActionCopy;
  mkfile?: { path: string; mode: number; data?: Uint8Array; owner?: PbChown; timestamp: number };
  mkdir?: { path: string; mode: number; makeParents?: boolean; owner?: PbChown; timestamp: number };
  rm?: { path: string; allowNotFound?: boolean; allowWildcard?: boolean };
}

export interface PbOp {
  inputs?: PbInput[];
  exec?: PbExecOp;
  source?: PbSourceOp;
  file?: { actions: PbFileAction[] };
  merge?: { inputs: { input: number }[] };
  platform?: PbPlatform;
}

export interface PbOpMetadata {
  ignore_cache?: boolean;
  description?: PbEntry<string>[];
  caps?: PbEntry<boolean>[];
  progress_group?: { id: string; name: string; weak?: boolean };
}

export interface PbPosition {
  line: number;
  character: number;
}

export interface PbRange {
  start: PbPosition;
  end: PbPosition;
}

export interface PbSourceInfo {
  filename: string;
  data: Uint8Array;
  language?: string;
}

export interface PbLocation {
  sourceIndex: number;
  ranges: PbRange[];
}

export interface PbSource {
  locations?: Record<string, { locations: PbLocation[] }>;
  infos?: PbSourceInfo[];
}

export interface PbDefinition {
  def: Uint8Array[];
  metadata?: PbEntry<PbOpMetadata>[];
  Source?: PbSource;
}
