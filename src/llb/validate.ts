// Checks a Definition before it is sent. BuildKit v0.13 dereferences input digests without
// checking, so a single dangling digest panics the whole daemon (every build on it dies). This
// is the last line of defence: it decodes what will actually be sent.
import { decode } from "../proto/codec";
import { opDigest } from "./digest";
import type { PbDefinition, PbOp } from "./pb";

export class InvalidDefinitionError extends Error {
  constructor(message: string) {
    super(`invalid LLB definition (not sent to BuildKit): ${message}`);
    this.name = "InvalidDefinitionError";
  }
}

/**
 * Ops decoded before, by their bytes object: marshal hands the same bytes to every definition an
 * op is in (a build's install graph is in two), and nothing changes an op's bytes once made.
 */
const decodedOps = new WeakMap<Uint8Array, { digest: string; op: PbOp }>();

function decodeOp(bytes: Uint8Array): { digest: string; op: PbOp } {
  let known = decodedOps.get(bytes);
  if (known) return known;
  const digest = opDigest(bytes);
  try {
    known = { digest, op: decode<PbOp>("pb.Op", bytes) };
  } catch (e) {
    throw new InvalidDefinitionError(`op ${digest} does not decode: ${(e as Error).message}`);
  }
  decodedOps.set(bytes, known);
  return known;
}

export function validateDefinition(def: PbDefinition): void {
  const ops = def.def ?? [];
  if (ops.length === 0) {
    if (def.metadata?.length) throw new InvalidDefinitionError("metadata without ops");
    return; // an empty definition is the empty (scratch) result
  }
  if (ops.length < 2) throw new InvalidDefinitionError("a definition needs at least one op and the terminal op");
  const digests = new Map<string, PbOp>();
  const order: string[] = [];
  for (const bytes of ops) {
    const { digest, op } = decodeOp(bytes);
    if (digests.has(digest)) throw new InvalidDefinitionError(`op ${digest} listed twice`);
    digests.set(digest, op);
    order.push(digest);
  }
  const last = order[order.length - 1]!;
  order.forEach((digest, i) => {
    const op = digests.get(digest)!;
    const isLast = i === ops.length - 1;
    const hasBody = Boolean(op.exec || op.source || op.file || op.merge || (op as { diff?: unknown }).diff);
    if (isLast) {
      if (hasBody || op.platform) throw new InvalidDefinitionError("the last op must be the terminal op (one input, no body, no platform)");
      if ((op.inputs ?? []).length !== 1) throw new InvalidDefinitionError("the terminal op must have exactly one input");
    } else if (!hasBody) {
      throw new InvalidDefinitionError(`op ${digest} has no body; only the last op may be terminal`);
    }
    for (const input of op.inputs ?? []) {
      if (!digests.has(input.digest) || input.digest === last) {
        throw new InvalidDefinitionError(`op ${digest} refers to ${input.digest || "(empty digest)"}, which is not in the definition`);
      }
      if ((input.index ?? 0) < 0) throw new InvalidDefinitionError(`op ${digest} refers to a negative output index`);
    }
    if (op.exec) {
      const n = (op.inputs ?? []).length;
      for (const m of op.exec.mounts ?? []) {
        if ((m.input ?? 0) >= n) throw new InvalidDefinitionError(`exec op ${digest} mounts input ${m.input} of ${n}`);
      }
    }
  });
  for (const entry of def.metadata ?? []) {
    if (!digests.has(entry.key)) throw new InvalidDefinitionError(`metadata for ${entry.key}, which is not in the definition`);
  }
}
