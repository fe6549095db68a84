// Serializes a State's graph into an LLB Definition: each op encoded once, deterministically
// (sorted map entries, no zero scalars), digested, listed inputs-first with the terminal op last.
// Ops needing a capability the daemon lacks are lowered to an equivalent or refused here, before
// anything reaches BuildKit.
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
  /** The vertex as encoded: the given one, or what it was lowered to for missing caps. */
  vertex: Vertex;
  bytes: Uint8Array;
  digest: string;
}

/**
 * Encodings made by earlier marshal calls, per caps set (lowering depends on it; the set is the
 * daemon's, one object for the whole build). A build marshals the install graph to read its
 * steps' reports, then the image's graph around it: the second time, the ~350 ops' bytes and
 * digests are looked up instead of made again. Vertices are immutable, so an entry never goes
 * stale, and the WeakMaps let it go with the graph.
 */
const encodings = new WeakMap<ReadonlySet<string> | typeof everyCap, WeakMap<Vertex, Encoded>>();
/** The key for marshal calls that give no caps (everything supported). */
const everyCap = {};

function encodingsFor(caps: ReadonlySet<string> | undefined): WeakMap<Vertex, Encoded> {
  const key = caps ?? everyCap;
  let map = encodings.get(key);
  if (!map) encodings.set(key, (map = new WeakMap()));
  return map;
}

export function marshal(state: State, opts: MarshalOptions = {}): PbDefinition {
  if (!state.output) return { def: [] };
  const defs: Uint8Array[] = [];
  const metadata = new Map<string, PbOpMetadata>();
  const locations = new Map<string, PbLocation[]>();
  const seenDigests = new Set<string>();
  const done = new Set<Vertex>();
  const encoded = encodingsFor(opts.caps);
  const lowered = new Map<Vertex, Vertex>();

  const effective = (v: Vertex): Vertex => {
    const cached = encoded.get(v)?.vertex ?? lowered.get(v);
    if (cached) return cached;
    let current = v;
    for (;;) {
      const missing = opts.caps ? current.requiredCaps().filter((c) => !opts.caps!.has(c)) : [];
      if (missing.length === 0) break;
      if (!current.lower) throw new CapabilityError(current.options.name ?? current.kind, missing);
      current = current.lower(missing);
    }
    lowered.set(v, current);
    return current;
  };

  // Iterative post-order walk: deep graphs (hundreds of packages) must not hit the stack limit.
  const visit = (root: Vertex): Encoded => {
    const stack: { v: Vertex; expanded: boolean }[] = [{ v: root, expanded: false }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (done.has(top.v)) {
        stack.pop();
        continue;
      }
      const v = effective(top.v);
      if (!top.expanded) {
        top.expanded = true;
        for (const input of [...v.inputs].reverse()) if (!done.has(input.vertex)) stack.push({ v: input.vertex, expanded: false });
        continue;
      }
      stack.pop();
      done.add(top.v);
      add(top.v, v);
    }
    return encoded.get(root)!;
  };

  const encode = (v: Vertex): Omit<Encoded, "vertex"> => {
    const inputs = v.inputs.map((o) => ({ digest: encoded.get(o.vertex)!.digest, index: o.index }));
    const inputIndex = (o: Output) => {
      const i = v.inputs.indexOf(o);
      if (i < 0) throw new Error(`internal: ${v.options.name ?? v.kind} refers to an output that is not one of its inputs`);
      return i;
    };
    const op: PbOp = { ...(inputs.length ? { inputs } : {}), ...v.toOp(inputIndex) };
    if (v.platform) op.platform = v.platform;
    const bytes = encodeOp(op);
    return { bytes, digest: opDigest(bytes) };
  };

  /** Lists `given`'s op (encoded now, or by an earlier marshal) with its metadata. */
  const add = (given: Vertex, v: Vertex): void => {
    let e = encoded.get(given);
    if (!e) encoded.set(given, (e = { vertex: v, ...encode(v) }));
    if (!seenDigests.has(e.digest)) {
      seenDigests.add(e.digest);
      defs.push(e.bytes);
    }
    metadata.set(e.digest, mergeMetadata(metadata.get(e.digest), v, opts));
    if (v.options.sourceRanges?.length && opts.sourceInfo) {
      locations.set(e.digest, [{ sourceIndex: 0, ranges: v.options.sourceRanges }]);
    }
  };

  const rootOut = state.output;
  const root = visit(rootOut.vertex);
  // The terminal op: just an input, no platform. It tells BuildKit which output is the result.
  const terminal = encodeOp({ inputs: [{ digest: root.digest, index: rootOut.index }] });
  defs.push(terminal);

  const definition: PbDefinition = {
    def: defs,
    metadata: [...metadata.keys()].sort().map((key) => ({ key, value: metadata.get(key)! })),
  };
  if (locations.size && opts.sourceInfo) {
    const sorted: Record<string, { locations: PbLocation[] }> = {};
    for (const key of [...locations.keys()].sort()) sorted[key] = { locations: locations.get(key)! };
    definition.Source = { locations: sorted, infos: [opts.sourceInfo] };
  }
  validateDefinition(definition);
  return definition;
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
