// The gateway's unary calls through @grpc/grpc-js instead of our own HTTP/2 client (transport.ts).
// Not used by the frontend: bench/run.ts builds a variant image whose bridge constructs this, to
// measure it against ours (docs/benchmarks.md, "Gateway transport"), and the unit tests run both.
//
// grpc-js dials its own connections and has no public hook for a given stream, so it dials a unix
// socket of ours, and that one connection is spliced onto stdin/stdout. There is only one stdin:
// the listener closes after the first connection, and the channel is told never to go idle,
// retry or reconnect. grpc-js (and node:http2 under it) is loaded when the transport is made, not
// imported: the frontend image starts from a V8 startup snapshot of the bundle, which cannot hold
// http2's native state.
import type * as grpc from "@grpc/grpc-js";
import type { Readable, Writable } from "node:stream";
import { maxSendBytes, RpcError, type UnaryTransport } from "./transport";

const maxInt32 = 2 ** 31 - 1;

const channelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": maxSendBytes,
  "grpc.client_idle_timeout_ms": maxInt32,
  "grpc.keepalive_time_ms": maxInt32,
  "grpc.enable_retries": 0,
  "grpc.initial_reconnect_backoff_ms": maxInt32,
  "grpc.max_reconnect_backoff_ms": maxInt32,
  "grpc.use_local_subchannel_pool": 1,
  // As transport.ts: large ReadFile answers should not stall on flow control.
  "grpc-node.flow_control_window": 16 * 1024 * 1024,
};

interface Connected {
  client: grpc.Client;
  metadata: () => grpc.Metadata;
  close(): void;
}

async function connect(input: Readable, output: Writable): Promise<Connected> {
  const grpcJs = await import("@grpc/grpc-js");
  // Built-in modules through getBuiltinModule: a dynamic import() of one fails in a process
  // started from a snapshot (grpc-js above is bundled, so esbuild turns its import into a require).
  const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  const net = process.getBuiltinModule("node:net") as typeof import("node:net");
  const os = process.getBuiltinModule("node:os") as typeof import("node:os");
  const path = process.getBuiltinModule("node:path") as typeof import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conda-frontend-"));
  const socketPath = path.join(dir, "gateway.sock");
  let spliced: import("node:net").Socket | undefined;
  const server = net.createServer((socket) => {
    if (spliced) {
      socket.destroy();
      return;
    }
    spliced = socket;
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
    input.pipe(socket);
    socket.pipe(output);
    // The daemon closing stdin ends the build; nothing can be done after that.
    input.on("end", () => socket.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  const client = new grpcJs.Client(`unix:${socketPath}`, grpcJs.credentials.createInsecure(), channelOptions);
  return {
    client,
    metadata: () => new grpcJs.Metadata(),
    close() {
      client.close();
      spliced?.destroy();
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class GrpcJsTransport implements UnaryTransport {
  private readonly connected: Promise<Connected>;

  constructor(input: Readable = process.stdin, output: Writable = process.stdout) {
    this.connected = connect(input, output);
    // A failure to connect is reported by the first call.
    this.connected.catch(() => {});
  }

  async call(path: string, request: Uint8Array): Promise<Uint8Array> {
    const method = path.slice(path.lastIndexOf("/") + 1);
    if (request.length > maxSendBytes) {
      throw new RpcError(method, 8, `${method} request is ${request.length} bytes; BuildKit accepts at most ${maxSendBytes} from a frontend`);
    }
    const { client, metadata } = await this.connected;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest<Uint8Array, Buffer>(
        path,
        (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
        (bytes) => bytes,
        request,
        metadata(),
        (err, response) => {
          if (!err) return resolve(response ?? Buffer.alloc(0));
          const details = err.metadata?.get("grpc-status-details-bin")[0];
          reject(new RpcError(method, err.code, err.details || err.message, Buffer.isBuffer(details) ? details : undefined));
        },
      );
    });
  }

  close(): void {
    this.connected.then((c) => c.close(), () => {});
  }
}
