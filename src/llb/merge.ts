// Merge ops: stack whole filesystems as layers without copying. Only daemons with the containerd
// image store advertise `mergeop`; for the others, copyLayers() makes the same filesystem by
// copying (the fallback BuildKit's Dockerfile frontend uses for COPY --link): one copy op per
// upper layer, chained, so that like a merge each input stays a layer of its own and a changed
// input re-copies only itself and what lies above it. Which one a graph uses is the caller's
// choice (state.ts `stack`), made from the daemon's caps; marshal never rewrites a graph.
import type { PbOp, PbPlatform } from "./pb";
import { FileVertex } from "./file";
import type { Output, Vertex, VertexOptions } from "./vertex";

export class MergeVertex implements Vertex {
  readonly kind = "merge";
  readonly inputs: readonly Output[];

  constructor(
    readonly layers: readonly Output[],
    readonly options: VertexOptions,
    readonly platform?: PbPlatform,
  ) {
    if (layers.length < 2) throw new Error("merge needs at least two inputs");
    this.inputs = layers;
  }

  toOp(inputIndex: (o: Output) => number): Omit<PbOp, "inputs" | "platform"> {
    return { merge: { inputs: this.layers.map((l) => ({ input: inputIndex(l) })) } };
  }

  requiredCaps(): string[] {
    return ["mergeop"];
  }
}

/** The filesystem a merge of `layers` makes, by copying each upper layer's whole tree onto the ones below. */
export function copyLayers(layers: readonly Output[], options: VertexOptions, platform?: PbPlatform): FileVertex {
  const [bottom, ...uppers] = layers;
  if (!bottom || uppers.length === 0) throw new Error("copyLayers needs at least two layers");
  const copy = (from: Output) => ({ type: "copy" as const, from, src: "/", dest: "/", opts: { contents: true, createDestPath: true } });
  // The name says which way it went, so progress output (and the tests) can tell.
  const name = options.name ?? "merge";
  if (uppers.length === 1) {
    return new FileVertex(bottom, uppers.map(copy), { ...options, name: `${name} (copy: the daemon has no merge op)` }, platform);
  }
  let below: Output = bottom;
  let top: FileVertex | undefined;
  uppers.forEach((from, i) => {
    top = new FileVertex(below, [copy(from)], { ...options, name: `${name} (copy ${i + 1}/${uppers.length}: the daemon has no merge op)` }, platform);
    below = { vertex: top, index: 0 };
  });
  return top!;
}
