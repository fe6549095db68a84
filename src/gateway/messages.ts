// TypeScript shapes of the gateway messages we send and read (see proto/buildkit/gateway.proto).
// Only the fields this frontend uses are typed.
import type { PbDefinition, PbPlatform, PbRange, PbSourceInfo, PbSourceOp } from "../llb/pb";

export interface ApiCap {
  ID: string;
  Enabled?: boolean;
  DisabledReason?: string;
  DisabledReasonMsg?: string;
}

export interface WorkerRecord {
  ID?: string;
  Labels?: Record<string, string>;
  platforms?: PbPlatform[];
}

export interface PongResponse {
  FrontendAPICaps?: ApiCap[];
  LLBCaps?: ApiCap[];
  Workers?: WorkerRecord[];
}

export interface Ref {
  id?: string;
  def?: PbDefinition;
}

export interface Result {
  ref?: Ref;
  refs?: { refs: Record<string, Ref> };
  metadata?: Record<string, Uint8Array>;
  /** By platform id (attestations of the image of that platform). */
  attestations?: Record<string, { attestation: Attestation[] }>;
}

/** An attestation of a result (gateway.proto): the file at `path` in `ref` is its predicate. */
export interface Attestation {
  /** AttestationKind: 0 InToto, 1 Bundle. */
  kind?: number;
  metadata?: Record<string, Uint8Array>;
  ref?: Ref;
  path?: string;
  inTotoPredicateType?: string;
  /** InTotoSubjectKind: 0 Self (the exporter fills in the image), 1 Raw (name and digest given). */
  inTotoSubjects?: { kind?: number; digest?: string[]; name?: string }[];
}

export interface SolveRequest {
  Definition?: PbDefinition;
  Frontend?: string;
  FrontendOpt?: Record<string, string>;
  allowResultReturn?: boolean;
  allowResultArrayRef?: boolean;
  CacheImports?: { Type: string; Attrs: Record<string, string> }[];
  Evaluate?: boolean;
}

export interface SolveResponse {
  result?: Result;
}

export interface Stat {
  path?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  modTime?: number;
  linkname?: string;
}

export interface ResolveImageConfigRequest {
  Ref: string;
  Platform?: PbPlatform;
  ResolveMode?: string;
  LogName?: string;
  /** 0: a registry; 1: an OCI layout store in the session (SessionID, StoreID). */
  ResolverType?: number;
  SessionID?: string;
  StoreID?: string;
}

export interface ResolveImageConfigResponse {
  Digest?: string;
  Config?: Uint8Array;
  Ref?: string;
}

export interface ResolveSourceMetaRequest {
  Source: PbSourceOp;
  Platform?: PbPlatform;
  LogName?: string;
  ResolveMode?: string;
}

export interface ResolveSourceMetaResponse {
  Source?: PbSourceOp;
  Image?: { Digest?: string; Config?: Uint8Array };
}

export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

export interface RpcStatus {
  code: number;
  message: string;
  details?: AnyMessage[];
}

export interface WarnRequest {
  digest?: string;
  level?: number;
  short?: Uint8Array;
  detail?: Uint8Array[];
  url?: string;
  info?: PbSourceInfo;
  ranges?: PbRange[];
}

export interface ReturnRequest {
  result?: Result;
  error?: RpcStatus;
}
