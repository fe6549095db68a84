// Turning an error into the google.rpc.Status a frontend returns. Errors that belong to lines of
// the input file carry BuildKit's errdefs.Source detail, so buildx prints the file with the
// offending lines marked.
import type { AnyMessage, RpcStatus } from "./messages";
import type { PbRange } from "../llb/pb";

export const sourceDetailType = "github.com/moby/buildkit/errdefs.Source+json";

/** gRPC status codes used here. */
export const Code = { Unknown: 2, InvalidArgument: 3, NotFound: 5, FailedPrecondition: 9, Unimplemented: 12, Internal: 13 } as const;

export interface SourceAttachment {
  filename: string;
  data: Uint8Array;
  ranges: PbRange[];
}

export function sourceDetail(src: SourceAttachment): AnyMessage {
  // errdefs.Source is registered with typeurl as JSON, so its payload is the Go struct's JSON:
  // bytes as base64, zero values omitted.
  const json = {
    info: { filename: src.filename, data: Buffer.from(src.data).toString("base64"), language: "YAML" },
    ranges: src.ranges.map((r) => ({ start: position(r.start), end: position(r.end) })),
  };
  return { type_url: sourceDetailType, value: Buffer.from(JSON.stringify(json)) };
}

function position(p: { line: number; character: number }): Record<string, number> {
  const out: Record<string, number> = {};
  if (p.line) out.line = p.line;
  if (p.character) out.character = p.character;
  return out;
}

export function statusOf(message: string, code: number, source?: SourceAttachment): RpcStatus {
  const status: RpcStatus = { code, message };
  if (source && source.ranges.length) status.details = [sourceDetail(source)];
  return status;
}
