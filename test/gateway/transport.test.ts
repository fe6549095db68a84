// StdioTransport against a real HTTP/2 gRPC peer on loopback: the same bytes the daemon would see.
import * as http2 from "node:http2";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { maxSendBytes, RpcError, StdioTransport } from "../../src/gateway/transport";

type Handler = (path: string, body: Buffer, stream: http2.ServerHttp2Stream) => void;

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A gRPC-ish h2c server; returns a transport connected to it through one TCP socket. */
async function transportTo(handler: Handler): Promise<{ transport: StdioTransport; connections: () => number }> {
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
  const transport = new StdioTransport(socket, socket);
  cleanups.push(() => {
    transport.close();
    socket.destroy();
    tcp.close();
  });
  return { transport, connections: () => connections };
}

const frame = (payload: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, payload.length]), payload]);

describe("StdioTransport", () => {
  it("frames a unary call and unframes the answer, over one connection for many calls", async () => {
    const seen: { path: string; body: Buffer }[] = [];
    const { transport, connections } = await transportTo((path, body, stream) => {
      seen.push({ path, body });
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame(Buffer.from("pong:" + body.subarray(5).toString())));
    });
    const answers = await Promise.all([1, 2, 3].map((i) => transport.call("/svc.S/M", Buffer.from(`ping${i}`))));
    expect(answers.map((a) => Buffer.from(a).toString())).toEqual(["pong:ping1", "pong:ping2", "pong:ping3"]);
    expect(seen[0]!.path).toBe("/svc.S/M");
    expect([...seen[0]!.body.subarray(0, 5)]).toEqual([0, 0, 0, 0, 5]);
    expect(connections()).toBe(1);
  });

  it("reports the status and message from the trailers", async () => {
    const { transport } = await transportTo((_p, _b, stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "3", "grpc-message": encodeURIComponent("bad input: 100% wrong") }));
      stream.end();
    });
    const err = await transport.call("/svc.S/Solve", Buffer.from("x")).catch((e: RpcError) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ method: "Solve", code: 3, details: "bad input: 100% wrong" });
  });

  it("reads a trailers-only answer's status from its headers", async () => {
    const { transport } = await transportTo((_p, _b, stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unknown method" }, { endStream: true });
    });
    await expect(transport.call("/svc.S/Nope", Buffer.from("x"))).rejects.toMatchObject({ code: 12, details: "unknown method" });
  });

  it("refuses to send more than BuildKit accepts", async () => {
    const { transport } = await transportTo(() => {
      throw new Error("must not be called");
    });
    await expect(transport.call("/svc.S/Solve", new Uint8Array(maxSendBytes + 1))).rejects.toMatchObject({ code: 8 });
  });

  it("fails calls once the connection is gone, and never reconnects", async () => {
    const { transport, connections } = await transportTo((_p, _b, stream) => stream.session?.destroy());
    await expect(transport.call("/svc.S/M", Buffer.from("x"))).rejects.toBeInstanceOf(RpcError);
    await expect(transport.call("/svc.S/M", Buffer.from("y"))).rejects.toMatchObject({ code: 14 });
    expect(connections()).toBe(1);
  });
});
