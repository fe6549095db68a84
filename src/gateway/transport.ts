// gRPC unary calls to BuildKit over this process's stdin (daemon -> us) and stdout (us -> daemon).
//
// One HTTP/2 (h2c) session over the two pipes, opened once: there is only one stdin, so there can
// be only one connection, and nothing here ever reconnects. Each call is a gRPC unary exchange: a
// length-prefixed message out, one back, and the status in the trailers (or in the headers of a
// trailers-only answer). @grpc/grpc-js spliced onto stdio through a unix socket
// (grpc-js-transport.ts) passes the same tests but costs far more than the 15 ms we would pay
// for it: +63 ms from process start to Return, median of 30 interleaved builds, measured with the
// V8 startup snapshot (docs/benchmarks.md, "Gateway transport"); and its reconnect machinery is
// exactly what this single-pipe transport must not have.
import type * as http2 from "node:http2";
import { Duplex, type Readable, type Writable } from "node:stream";

/** A failed call: the gRPC status code and message the daemon sent (or a transport failure). */
export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
    /** The daemon's google.rpc.Status, serialized (grpc-status-details-bin), when it sent one. */
    readonly statusBytes?: Buffer,
  ) {
    super(details);
    this.name = "RpcError";
  }
}

/** gRPC status codes we produce ourselves. */
const UNAVAILABLE = 14;
const INTERNAL = 13;
const RESOURCE_EXHAUSTED = 8;

/** The daemon refuses messages over 4 MiB from a frontend; say so before sending one. */
export const maxSendBytes = 4 * 1024 * 1024;

export interface UnaryTransport {
  call(path: string, request: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0; // not compressed
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function unframe(data: Buffer, method: string): Uint8Array {
  if (data.length < 5) throw new RpcError(method, INTERNAL, `response too short (${data.length} bytes)`);
  if (data[0] !== 0) throw new RpcError(method, INTERNAL, "compressed responses are not supported");
  const length = data.readUInt32BE(1);
  if (data.length !== 5 + length) throw new RpcError(method, INTERNAL, `expected one message of ${length} bytes, got ${data.length - 5}`);
  return data.subarray(5);
}

function statusOf(headers: http2.IncomingHttpHeaders): { code: number; message: string; bytes?: Buffer } | undefined {
  const code = headers["grpc-status"];
  if (code === undefined) return undefined;
  const details = headers["grpc-status-details-bin"];
  const bytes = typeof details === "string" && details ? Buffer.from(details, "base64") : undefined;
  const raw = String(headers["grpc-message"] ?? "");
  let message = raw;
  try {
    message = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded after all: keep it as it is.
  }
  return { code: Number(code), message, bytes };
}

export class StdioTransport implements UnaryTransport {
  private readonly session: http2.ClientHttp2Session;
  private failure: Error | undefined;

  constructor(input: Readable = process.stdin, output: Writable = process.stdout) {
    const pipe = Duplex.from({ readable: input, writable: output });
    // Loaded here, not imported: the frontend image starts from a V8 startup snapshot of the
    // bundle, and http2's native state cannot be part of one (see scripts/bundle.mjs).
    const { connect } = process.getBuiltinModule("node:http2") as typeof http2;
    this.session = connect("http://buildkit.invalid", {
      createConnection: () => pipe as unknown as import("node:net").Socket,
      // Large ReadFile answers (a lock, a package list) should not stall on flow control.
      settings: { initialWindowSize: 16 * 1024 * 1024, maxFrameSize: 1024 * 1024 },
    });
    this.session.on("error", (e) => (this.failure = e));
    this.session.on("close", () => (this.failure ??= new Error("the connection to BuildKit closed")));
  }

  call(path: string, request: Uint8Array): Promise<Uint8Array> {
    const method = path.slice(path.lastIndexOf("/") + 1);
    if (this.failure) return Promise.reject(new RpcError(method, UNAVAILABLE, this.failure.message));
    if (request.length > maxSendBytes) {
      return Promise.reject(new RpcError(method, RESOURCE_EXHAUSTED, `${method} request is ${request.length} bytes; BuildKit accepts at most ${maxSendBytes} from a frontend`));
    }
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc+proto",
        te: "trailers",
      });
      const chunks: Buffer[] = [];
      let status: { code: number; message: string; bytes?: Buffer } | undefined;
      stream.on("response", (headers) => {
        // A trailers-only answer carries the status in the headers.
        status ??= statusOf(headers);
      });
      stream.on("trailers", (trailers) => {
        status = statusOf(trailers) ?? status;
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (e) => reject(new RpcError(method, UNAVAILABLE, e.message)));
      stream.on("close", () => {
        if (!status) {
          reject(new RpcError(method, UNAVAILABLE, this.failure?.message ?? `${method}: the stream closed without a gRPC status`));
          return;
        }
        if (status.code !== 0) {
          reject(new RpcError(method, status.code, status.message, status.bytes));
          return;
        }
        try {
          resolve(unframe(Buffer.concat(chunks), method));
        } catch (e) {
          reject(e);
        }
      });
      stream.end(frame(request));
    });
  }

  close(): void {
    this.session.close();
  }
}
