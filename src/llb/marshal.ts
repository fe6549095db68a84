// Serializes a State's graph into an LLB Definition: each op encoded once, deterministically
// (sorted map entries, no zero scalars), digested, listed inputs-first with the terminal op last.
// Marshal only serialises and checks: an op needing a capability the daemon lacks is refused
// here, before anything reaches BuildKit. Choosing ops the daemon can run (merge or copy) is the
// stages' work (llb/state.ts `stack`).
import { messageType } from "../proto/codec";
import type { PbDefinition, PbEntry, PbLocation, PbOp, PbOpMetadata, PbSourceInfo } from "./pb";
import type { State } from "./state";
import { opDigest } from "./digest";
import { validateDefinition } from "./validate";
import type { Output, Vertex } from "./vertex";

export class CapabilityError extends Error {
  constructor(
    readonly vertexName: string,
    readonly missing: string[],
  ) {
    super(`the BuildKit daemon does not support ${missing.join(", ")}, needed by step "${vertexName}"; upgrade the daemon (Docker Engine, or buildkitd) or use a builder that supports it`);
    this.name = "CapabilityError";
  }
}

export interface MarshalOptions {
  /** LLB capabilities the daemon advertised (Ping). Undefined: assume everything (unit tests). */
  caps?: ReadonlySet<string>;
  /** Mark every op ignore_cache (--no-cache). */
  ignoreCache?: boolean;
  /** The input file, for mapping vertices to its lines. */
  sourceInfo?: PbSourceInfo;
}

/**
 * An op's bytes. Ops are encoded straight from our plain objects, without protobufjs's verify
 * and fromObject passes (two thirds of the time, for a definition of hundreds of ops): pb.ts's
 * shapes are what the encoder reads as they are (numbers for enums and int64, Uint8Array for
 * bytes), a unit test holds the bytes equal to the checked path's, and validateDefinition
 * decodes every op before anything is sent.
 */
export function encodeOp(op: PbOp): Uint8Array {
  return messageType("pb.Op").encode(op).finish();
}

interface Encoded {
  bytes: Uint8Array;
  digest: string;
}

/**
 * Encodings made by earlier marshal calls. A build marshals the install graph to read its
 * steps' reports, then the image's graph around it: the second time, the ~350 ops' bytes and
 * digests are looked up instead of made again. Vertices are immutable, so an entry never goes
 * stale, and the WeakMap lets it go with the graph.
 */
const encodings = new WeakMap<Vertex, Encoded>();

/** Refuses a vertex that needs a capability the daemon did not advertise. */
function checkCaps(v: Vertex, caps: ReadonlySet<string> | undefined): void {
  const missing = caps ? v.requiredCaps().filter((c) => !caps.has(c)) : [];
  if (missing.length) throw new CapabilityError(v.options.name ?? v.kind, missing);
}

/** Every vertex under `root`, inputs before the vertices that use them (iterative: graphs of hundreds of packages are deep). */
function postOrder(root: Vertex): Vertex[] {
  const order: Vertex[] = [];
  const done = new Set<Vertex>();
  const stack: { v: Vertex; expanded: boolean }[] = [{ v: root, expanded: false }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (done.has(top.v)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      for (const input of [...top.v.inputs].reverse()) if (!done.has(input.vertex)) stack.push({ v: input.vertex, expanded: false });
      continue;
    }
    stack.pop();
    done.add(top.v);
    order.push(top.v);
  }
  return order;
}

/** A vertex's op, its inputs named by the digests of their (already encoded) ops. */
function encodeVertex(v: Vertex): Encoded {
  const cached = encodings.get(v);
  if (cached) return cached;
  const inputs = v.inputs.map((o) => ({ digest: encodings.get(o.vertex)!.digest, index: o.index }));
  const inputIndex = (o: Output) => {
    const i = v.inputs.indexOf(o);
    if (i < 0) throw new Error(`internal: ${v.options.name ?? v.kind} refers to an output that is not one of its inputs`);
    return i;
  };
  const op: PbOp = { ...(inputs.length ? { inputs } : {}), ...v.toOp(inputIndex) };
  if (v.platform) op.platform = v.platform;
  const bytes = encodeOp(op);
  const e = { bytes, digest: opDigest(bytes) };
  encodings.set(v, e);
  return e;
}

export function marshal(state: State, opts: MarshalOptions = {}): PbDefinition {
  if (!state.output) return { def: [] };
  const defs: Uint8Array[] = [];
  const metadata = new Map<string, PbOpMetadata>();
  const locations = new Map<string, PbLocation[]>();
  for (const v of postOrder(state.output.vertex)) {
    checkCaps(v, opts.caps);
    const e = encodeVertex(v);
    if (!metadata.has(e.digest)) defs.push(e.bytes);
    metadata.set(e.digest, mergeMetadata(metadata.get(e.digest), v, opts));
    if (v.options.sourceRanges?.length && opts.sourceInfo) locations.set(e.digest, [{ sourceIndex: 0, ranges: v.options.sourceRanges }]);
  }
  // The terminal op: just an input, no platform. It tells BuildKit which output is the result.
  defs.push(encodeOp({ inputs: [{ digest: encodings.get(state.output.vertex)!.digest, index: state.output.index }] }));
  const definition: PbDefinition = {
    def: defs,
    metadata: [...metadata.keys()].sort().map((key) => ({ key, value: metadata.get(key)! })),
  };
  if (locations.size && opts.sourceInfo) definition.Source = { locations: sortedLocations(locations), infos: [opts.sourceInfo] };
  validateDefinition(definition);
  return definition;
}

function sortedLocations(locations: Map<string, PbLocation[]>): Record<string, { locations: PbLocation[] }> {
  const sorted: Record<string, { locations: PbLocation[] }> = {};
  for (const key of [...locations.keys()].sort()) sorted[key] = { locations: locations.get(key)! };
  return sorted;
}

function entries<V>(record: Record<string, V>): PbEntry<V>[] {
  return Object.keys(record)
    .sort()
    .map((key) => ({ key, value: record[key]! }));
}

function mergeMetadata(existing: PbOpMetadata | undefined, v: Vertex, opts: MarshalOptions): PbOpMetadata {
  const description: Record<string, string> = {};
  for (const e of existing?.description ?? []) description[e.key] = e.value;
  if (v.options.name && !description["llb.customname"]) description["llb.customname"] = v.options.name;
  const caps: Record<string, boolean> = {};
  for (const e of existing?.caps ?? []) caps[e.key] = true;
  for (const c of v.requiredCaps()) caps[c] = true;
  const md: PbOpMetadata = {};
  if (existing?.ignore_cache || opts.ignoreCache || v.options.ignoreCache) md.ignore_cache = true;
  if (Object.keys(description).length) md.description = entries(description);
  // Only caps the daemon knows may be named, or it refuses the whole definition.
  const known = Object.keys(caps).filter((c) => !opts.caps || opts.caps.has(c));
  if (known.length) md.caps = entries(Object.fromEntries(known.map((c) => [c, true])));
  if (v.options.progressGroup) md.progress_group = { id: v.options.progressGroup.id, name: v.options.progressGroup.name };
  return md;
}
