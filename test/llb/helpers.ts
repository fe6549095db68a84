// Shared helpers for the LLB tests: decode what marshal() produced back into plain objects.
import { createHash } from "node:crypto";
import { decode } from "../../src/proto/codec";
import type { PbDefinition, PbOp } from "../../src/llb/pb";

export interface DecodedOp {
  digest: string;
  op: PbOp;
  bytes: Uint8Array;
}

export function sha256(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

export function decodeOps(def: PbDefinition): DecodedOp[] {
  return def.def.map((bytes) => ({ digest: sha256(bytes), op: decode<PbOp>("pb.Op", bytes), bytes }));
}

/** The op the terminal op points at (the result). */
export function resultOp(def: PbDefinition): DecodedOp {
  const ops = decodeOps(def);
  const terminal = ops[ops.length - 1]!;
  const digest = terminal.op.inputs![0]!.digest;
  return ops.find((o) => o.digest === digest)!;
}

export function opByDigest(def: PbDefinition, digest: string): DecodedOp {
  const hit = decodeOps(def).find((o) => o.digest === digest);
  if (!hit) throw new Error(`no op ${digest}`);
  return hit;
}

export function metadataOf(def: PbDefinition, digest: string) {
  return def.metadata?.find((m) => m.key === digest)?.value;
}

export const amd64 = { OS: "linux", Architecture: "amd64" };
