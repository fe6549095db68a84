// The gateway transports against a real HTTP/2 gRPC peer on loopback: the same bytes the daemon
// would see. Ours (StdioTransport, node:http2) and the grpc-js variant the bench measures it
// against (GrpcJsTransport) pass the same tests. A tap on the connection reads the HTTP/2 frames
// the server sends, so a test about frame boundaries can check that the boundaries were there.
import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { connect, createServer, type Server, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { GrpcJsTransport } from "../../src/gateway/grpc-js-transport";
import { maxSendBytes, RpcError, StdioTransport, type UnaryTransport } from "../../src/gateway/transport";

type Handler = (path: string, body: Buffer, stream: http2.ServerHttp2Stream) => void;
type Make = (input: PassThrough, output: Socket) => UnaryTransport;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** DATA frames the server sent, in order: stream id and payload length (padding excluded). */
interface DataFrame {
  stream: number;
  length: number;
}

/** Reads HTTP/2 frame headers from what the server sends (no preface on that side). */
function frameTap(into: DataFrame[]): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const [type, flags] = [pending[3]!, pending[4]!];
      if (type === 0) {
        const padding = flags & 0x8 ? pending[9]! + 1 : 0;
        into.push({ stream: pending.readUInt32BE(5) & 0x7fffffff, length: length - padding });
      }
      pending = pending.subarray(9 + length);
    }
  };
}

/** An h2c server on one TCP connection; returns a transport connected to it through a tap. */
async function transportTo(make: Make, handler: Handler): Promise<{ transport: UnaryTransport; connections: () => number; dataFrames: DataFrame[] }> {
  const h2 = http2.createServer();
  let connections = 0;
  h2.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => handler(String(headers[":path"]), Buffer.concat(chunks), stream));
  });
  const tcp: Server = createServer((socket) => {
    connections++;
    h2.emit("connection", socket);
  });
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
  const port = (tcp.address() as { port: number }).port;
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((r) => socket.on("connect", () => r()));
  const dataFrames: DataFrame[] = [];
  const tap = frameTap(dataFrames);
  const input = new PassThrough();
  socket.on("data", (chunk: Buffer) => {
    tap(chunk);
    input.write(chunk);
  });
  socket.on("end", () => input.end());
  socket.on("close", () => input.destroy());
  const transport = make(input, socket);
  cleanups.push(() => {
    transport.close();
    socket.destroy();
    tcp.close();
  });
  return { transport, connections: () => connections, dataFrames };
}

/** A gRPC message: the 5-byte prefix (not compressed, length) and the payload. */
const frame = (payload: Buffer) => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
};

/** grpc-message as gRPC's spec encodes it: '%' and bytes outside printable ASCII as %XX. */
const grpcMessage = (text: string) => [...Buffer.from(text)].map((b) => (b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b))).join("");

/** Answers with `body` written in the given pieces, each one sent before the next is written. */
async function respondInPieces(stream: http2.ServerHttp2Stream, body: Buffer, cuts: number[]): Promise<void> {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    await new Promise<void>((r) => stream.write(body.subarray(at, cut), () => r()));
    await new Promise((r) => setTimeout(r, 5));
    at = cut;
  }
  stream.end();
}

/** Deterministic bytes that differ at every offset a lost or repeated chunk would shift. */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const ok = (stream: http2.ServerHttp2Stream, body: Buffer) => {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(body);
};

describe.each<[string, Make]>([
  ["StdioTransport (ours, node:http2)", (i, o) => new StdioTransport(i, o)],
  ["GrpcJsTransport (@grpc/grpc-js over a spliced unix socket)", (i, o) => new GrpcJsTransport(i, o)],
])("%s", (_name, make) => {
  it("frames a unary call and unframes the answer, over one connection for many calls", async () => {
    const seen: { path: string; body: Buffer }[] = [];
    const { transport, connections } = await transportTo(make, (path, body, stream) => {
      seen.push({ path, body });
      ok(stream, frame(Buffer.from("pong:" + body.subarray(5).toString())));
    });
    const answers = await Promise.all([1, 2, 3].map((i) => transport.call("/svc.S/M", Buffer.from(`ping${i}`))));
    expect(answers.map((a) => Buffer.from(a).toString())).toEqual(["pong:ping1", "pong:ping2", "pong:ping3"]);
    expect(seen[0]!.path).toBe("/svc.S/M");
    expect([...seen[0]!.body.subarray(0, 5)]).toEqual([0, 0, 0, 0, 5]);
    expect(connections()).toBe(1);
  });

  it("reports the status and the percent-decoded message from the trailers", async () => {
    const { transport } = await transportTo(make, (_p, _b, stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "3", "grpc-message": grpcMessage("bad input: 100% wrong, ü") }));
      stream.end();
    });
    const err = await transport.call("/svc.S/Solve", Buffer.from("x")).catch((e: RpcError) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ method: "Solve", code: 3, details: "bad input: 100% wrong, ü" });
  });

  it("reads a trailers-only answer's status from its headers", async () => {
    const { transport } = await transportTo(make, (_p, _b, stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unknown method" }, { endStream: true });
    });
    await expect(transport.call("/svc.S/Nope", Buffer.from("x"))).rejects.toMatchObject({ code: 12, details: "unknown method" });
  });

  it("refuses to send more than BuildKit accepts, with RESOURCE_EXHAUSTED and nothing sent", async () => {
    const { transport } = await transportTo(make, () => {
      throw new Error("must not be called");
    });
    await expect(transport.call("/svc.S/Solve", new Uint8Array(maxSendBytes + 1))).rejects.toMatchObject({ code: 8 });
  });

  it("fails calls once the connection is gone, and never reconnects", async () => {
    const { transport, connections } = await transportTo(make, (_p, _b, stream) => stream.session?.destroy());
    await expect(transport.call("/svc.S/M", Buffer.from("x"))).rejects.toBeInstanceOf(RpcError);
    await expect(transport.call("/svc.S/M", Buffer.from("y"))).rejects.toMatchObject({ code: 14 });
    expect(connections()).toBe(1);
  });

  it("returns an empty message (WarnResponse, ReturnResponse) as zero bytes", async () => {
    const { transport } = await transportTo(make, (_p, _b, stream) => ok(stream, frame(Buffer.alloc(0))));
    expect((await transport.call("/svc.S/Warn", Buffer.alloc(0))).length).toBe(0);
  });

  it("reassembles a 6 MiB answer that arrived in more than 6 DATA frames into the same bytes", async () => {
    const payload = pattern(6 * 1024 * 1024, 1);
    const { transport, dataFrames } = await transportTo(make, (_p, _b, stream) => ok(stream, frame(payload)));
    const answer = await transport.call("/svc.S/ReadFile", Buffer.from("x"));
    expect(answer.length).toBe(payload.length);
    expect(sha(answer)).toBe(sha(payload));
    expect(dataFrames.filter((f) => f.length > 0).length).toBeGreaterThan(6);
  });

  it("takes a 24 MiB answer, more than the 16 MiB flow-control window, through window updates", async () => {
    const payload = pattern(24 * 1024 * 1024, 2);
    const { transport, dataFrames } = await transportTo(make, (_p, _b, stream) => ok(stream, frame(payload)));
    const answer = await transport.call("/svc.S/ReadFile", Buffer.from("x"));
    expect(sha(answer)).toBe(sha(payload));
    expect(dataFrames.reduce((n, f) => n + f.length, 0)).toBe(payload.length + 5);
  });

  it("reads a message whose prefix and body are split across DATA frames of 1, 3, 2, ... bytes, as sent on the wire", async () => {
    const payload = pattern(70_000, 3);
    const body = frame(payload);
    // Inside the 5-byte prefix twice, right after it, inside the body, and one byte before the end.
    const cuts = [1, 4, 6, 9, 16_389, body.length - 1];
    const { transport, dataFrames } = await transportTo(make, (_p, _b, stream) => void respondInPieces(stream, body, cuts));
    const answer = await transport.call("/svc.S/ReadFile", Buffer.from("x"));
    expect(sha(answer)).toBe(sha(payload));
    const sizes = dataFrames.map((f) => f.length).filter((n) => n > 0);
    expect(sizes.slice(0, 5)).toEqual([1, 3, 2, 3, 16_380]);
    expect(sizes.at(-1)).toBe(1);
  });

  it("answers 64 concurrent calls over one connection, each with its own answer (1 byte to 1 MiB), answered in reverse order", async () => {
    const n = 64;
    const size = (i: number) => (i === 0 ? 1 : i * 16 * 1024);
    const waiting: { i: number; stream: http2.ServerHttp2Stream }[] = [];
    const { transport, connections, dataFrames } = await transportTo(make, (_p, body, stream) => {
      waiting.push({ i: body.readUInt32BE(5), stream });
      // Every call is in flight before the first answer is written.
      if (waiting.length === n) for (const w of [...waiting].reverse()) ok(w.stream, frame(pattern(size(w.i), w.i)));
    });
    const requests = Array.from({ length: n }, (_, i) => {
      const req = Buffer.alloc(4);
      req.writeUInt32BE(i);
      return transport.call("/svc.S/ReadFile", req);
    });
    const answers = await Promise.all(requests);
    answers.forEach((a, i) => expect(sha(a), `answer ${i}`).toBe(sha(pattern(size(i), i))));
    expect(connections()).toBe(1);
    expect(new Set(dataFrames.map((f) => f.stream)).size).toBe(n);
  });

  it("fails a call whose answer ends inside a message (prefix says 100 bytes, 60 came) instead of returning it short", async () => {
    const { transport } = await transportTo(make, (_p, _b, stream) => ok(stream, frame(Buffer.alloc(100)).subarray(0, 65)));
    const err = await transport.call("/svc.S/ReadFile", Buffer.from("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).not.toBe(0);
  });

  it("answers from @grpc/grpc-js's server (another gRPC implementation): an 8 MiB answer and a status with details", async () => {
    const server = new grpc.Server({ "grpc.max_send_message_length": -1 });
    const payload = pattern(8 * 1024 * 1024, 4);
    const details = Buffer.from("status-details");
    server.register(
      "/svc.S/ReadFile",
      (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        if (call.request.toString() === "fail") {
          const metadata = new grpc.Metadata();
          metadata.set("grpc-status-details-bin", details);
          callback({ code: grpc.status.NOT_FOUND, details: "no such file: /x", metadata });
        } else callback(null, payload);
      },
      (b: Buffer) => b,
      (b: Buffer) => b,
      "unary",
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((r) => socket.on("connect", () => r()));
    const input = new PassThrough();
    socket.pipe(input);
    const transport = make(input, socket);
    cleanups.push(() => {
      transport.close();
      socket.destroy();
      server.forceShutdown();
    });
    expect(sha(await transport.call("/svc.S/ReadFile", Buffer.from("x")))).toBe(sha(payload));
    const err = await transport.call("/svc.S/ReadFile", Buffer.from("fail")).catch((e: RpcError) => e);
    expect(err).toMatchObject({ method: "ReadFile", code: 5, details: "no such file: /x" });
    expect(Buffer.from((err as RpcError).statusBytes ?? []).toString()).toBe("status-details");
  });
});
