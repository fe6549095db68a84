// The gRPC channel to BuildKit over this process's stdin (daemon -> us) and stdout (us -> daemon).
//
// @grpc/grpc-js has no hook for a custom stream, so we listen on a private unix socket, let
// grpc-js connect to it, and splice exactly that one connection onto stdin/stdout. A second
// connection cannot exist (there is only one stdin), so the listener closes after the first, and
// the channel is told never to go idle or reconnect.
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

export interface StdioChannel {
  client: grpc.Client;
  close(): void;
}

const maxInt32 = 2 ** 31 - 1;

export const channelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": -1,
  // The daemon rejects frontend->daemon messages over 4 MiB; failing here gives a clearer error.
  "grpc.max_send_message_length": 4 * 1024 * 1024,
  "grpc.client_idle_timeout_ms": maxInt32,
  "grpc.keepalive_time_ms": maxInt32,
  "grpc.enable_retries": 0,
  "grpc.initial_reconnect_backoff_ms": maxInt32,
  "grpc.max_reconnect_backoff_ms": maxInt32,
  "grpc.use_local_subchannel_pool": 1,
};

export function connectStdio(input: Readable = process.stdin, output: Writable = process.stdout): Promise<StdioChannel> {
  const dir = mkdtempSync(join(tmpdir(), "conda-frontend-"));
  const socketPath = join(dir, "gateway.sock");
  return new Promise((resolve, reject) => {
    let spliced: Socket | undefined;
    const server = createServer((socket) => {
      if (spliced) {
        socket.destroy();
        return;
      }
      spliced = socket;
      server.close();
      rmSync(dir, { recursive: true, force: true });
      input.pipe(socket);
      socket.pipe(output);
      // The daemon closing stdin ends the build; nothing can be done after that.
      input.on("end", () => socket.end());
    });
    server.on("error", reject);
    server.listen(socketPath, () => {
      const client = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure(), channelOptions);
      resolve({
        client,
        close() {
          client.close();
          spliced?.destroy();
          server.close();
          rmSync(dir, { recursive: true, force: true });
        },
      });
    });
  });
}
