// Merge ops: stack whole filesystems as layers without copying. Only daemons with the containerd
// image store advertise `mergeop`; for the others, lower() gives the equivalent copy chain
// (the same fallback BuildKit's Dockerfile frontend uses for COPY --link).
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

  /** The same filesystem by copying each upper layer's whole tree onto the lowest. */
  lower(): Vertex {
    const [bottom, ...uppers] = this.layers;
    return new FileVertex(
      bottom,
      uppers.map((from) => ({ type: "copy" as const, from, src: "/", dest: "/", opts: { contents: true, createDestPath: true } })),
      // The name says which way it went, so progress output (and the tests) can tell.
      { ...this.options, name: `${this.options.name ?? "merge"} (copy: the daemon has no merge op)` },
      this.platform,
    );
  }
}
