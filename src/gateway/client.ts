// A typed client for BuildKit's LLBBridge service. One method per RPC we use; each is a plain
// unary call whose messages are encoded with our own .proto files.
import type { PbDefinition } from "../llb/pb";
import type {
  PongResponse,
  ResolveImageConfigRequest,
  ResolveImageConfigResponse,
  ResolveSourceMetaRequest,
  ResolveSourceMetaResponse,
  ReturnRequest,
  SolveRequest,
  SolveResponse,
  Stat,
  WarnRequest,
} from "./messages";
import { decode, encode } from "../proto/codec";
import type { UnaryTransport } from "./transport";

const service = "/moby.buildkit.v1.frontend.LLBBridge/";
const pkg = "moby.buildkit.v1.frontend.";

export class GatewayClient {
  constructor(private readonly transport: UnaryTransport) {}

  private async call<Res>(method: string, requestType: string, responseType: string, request: object): Promise<Res> {
    const bytes = await this.transport.call(service + method, encode(pkg + requestType, request));
    return decode<Res>(pkg + responseType, bytes);
  }

  /**
   * PingRequest has no fields, so its encoding is empty: the call goes out before our message
   * types are even loaded, and they load while the daemon answers.
   */
  async ping(whileWaiting?: () => void): Promise<PongResponse> {
    const answer = this.transport.call(service + "Ping", new Uint8Array());
    // One turn of the event loop lets HTTP/2 put the request on the wire before we block.
    await new Promise((resolve) => setImmediate(resolve));
    whileWaiting?.();
    return decode<PongResponse>(pkg + "PongResponse", await answer);
  }

  solve(request: SolveRequest): Promise<SolveResponse> {
    return this.call("Solve", "SolveRequest", "SolveResponse", request);
  }

  async readFile(ref: string, path: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    const request: Record<string, unknown> = { Ref: ref, FilePath: path };
    if (range) request.Range = { Offset: range.offset, Length: range.length };
    const res = await this.call<{ Data?: Uint8Array }>("ReadFile", "ReadFileRequest", "ReadFileResponse", request);
    return res.Data ?? new Uint8Array();
  }

  async readDir(ref: string, path: string, includePattern?: string): Promise<Stat[]> {
    const request: Record<string, unknown> = { Ref: ref, DirPath: path };
    if (includePattern) request.IncludePattern = includePattern;
    const res = await this.call<{ entries?: Stat[] }>("ReadDir", "ReadDirRequest", "ReadDirResponse", request);
    return res.entries ?? [];
  }

  async statFile(ref: string, path: string): Promise<Stat> {
    const res = await this.call<{ stat?: Stat }>("StatFile", "StatFileRequest", "StatFileResponse", { Ref: ref, Path: path });
    return res.stat ?? {};
  }

  resolveImageConfig(request: ResolveImageConfigRequest): Promise<ResolveImageConfigResponse> {
    return this.call("ResolveImageConfig", "ResolveImageConfigRequest", "ResolveImageConfigResponse", request);
  }

  resolveSourceMeta(request: ResolveSourceMetaRequest): Promise<ResolveSourceMetaResponse> {
    return this.call("ResolveSourceMeta", "ResolveSourceMetaRequest", "ResolveSourceMetaResponse", request);
  }

  async inputs(): Promise<Record<string, PbDefinition>> {
    const res = await this.call<{ Definitions?: Record<string, PbDefinition> }>("Inputs", "InputsRequest", "InputsResponse", {});
    return res.Definitions ?? {};
  }

  async warn(request: WarnRequest): Promise<void> {
    await this.call("Warn", "WarnRequest", "WarnResponse", request);
  }

  async return(request: ReturnRequest): Promise<void> {
    await this.call("Return", "ReturnRequest", "ReturnResponse", request);
  }
}
