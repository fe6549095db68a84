// The graph's nodes. A Vertex is immutable and knows how to turn itself into a pb.Op once its
// inputs have been given positions; marshal.ts walks the graph and does the rest.
import type { PbOp, PbPlatform, PbRange } from "./pb";

/** Output `index` of `vertex`: what a State points at, and what an op input references. */
export interface Output {
  readonly vertex: Vertex;
  readonly index: number;
}

export interface VertexOptions {
  /** The vertex name shown in build progress (llb.customname). */
  name?: string;
  /** Re-run this vertex even when a cached result exists (--no-cache). */
  ignoreCache?: boolean;
  /** Lines of the input file this vertex came from; a failure then points at them. */
  sourceRanges?: PbRange[];
  /** Progress output groups vertices with the same id under one heading. */
  progressGroup?: { id: string; name: string };
}

export interface Vertex {
  readonly kind: "source" | "exec" | "file" | "merge";
  readonly inputs: readonly Output[];
  readonly options: VertexOptions;
  readonly platform?: PbPlatform;
  /** The op's body (no inputs, no platform); `inputIndex` gives an input's position. */
  toOp(inputIndex: (o: Output) => number): Omit<PbOp, "inputs" | "platform">;
  /** LLB capabilities the daemon must advertise for this op. */
  requiredCaps(): string[];
}

export function withOptions(base: VertexOptions, extra?: VertexOptions): VertexOptions {
  return { ...base, ...(extra ?? {}) };
}
