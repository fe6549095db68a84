// marshal() encodes ops straight from our plain objects, skipping protobufjs's verify and
// fromObject. That is only sound if the bytes are the same as the checked path's: this test
// records every op the frontend's graphs hand the encoder (the warm-up runs the whole pure part
// of a build) plus every mount and file action kind, and encodes each both ways.
import { describe, expect, it, vi } from "vitest";
import type protobuf from "protobufjs";

const { recorded } = vi.hoisted(() => ({ recorded: [] as object[] }));

vi.mock("../../src/proto/codec", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/proto/codec")>();
  return {
    ...real,
    messageType(name: string): protobuf.Type {
      const type = real.messageType(name);
      if (name !== "pb.Op") return type;
      return new Proxy(type, {
        get(target, key, receiver) {
          if (key !== "encode") return Reflect.get(target, key, receiver) as unknown;
          return (op: object) => {
            recorded.push(op);
            return target.encode(op);
          };
        },
      });
    },
  };
});

import { warmUp } from "../../src/frontend/warm-up";
import { FileActions, marshal, stack, type StackMethod, State } from "../../src/llb";
import { amd64 } from "./helpers";

function everyKind(method: StackMethod = "merge"): State {
  const base = State.image("docker.io/library/alpine:3.19", amd64, { digest: `sha256:${"1".repeat(64)}` });
  const ctx = State.local("context", { sessionId: "s", include: ["src"], exclude: ["*.tmp"], sharedKeyHint: "context" });
  const download = State.http("https://conda.example/x-1.0-h0_0.conda", { checksum: `sha256:${"2".repeat(64)}`, filename: "x-1.0-h0_0.conda" });
  const ran = base.run({
    args: ["build"],
    cwd: "/work",
    network: "none",
    mounts: [
      { type: "tmpfs", dest: "/tmp", size: 1 << 20 },
      { type: "bind", dest: "/src", from: ctx, readonly: true },
      { type: "bind", dest: "/pkg", from: download, readonly: true },
      { type: "bind", dest: "/out", from: State.scratch(amd64) },
      { type: "cache", dest: "/cache", id: "c" },
      { type: "secret", dest: "/run/secrets/a", id: "a" },
      { type: "secret", dest: "/run/secrets/b", id: "b", uid: 1000, gid: 100, mode: 0o440, optional: true },
    ],
  });
  const files = ran
    .root()
    .file(
      new FileActions()
        .mkdir("/etc/x", { mode: 0o700 })
        .mkfile("/etc/x/y", "data")
        .copy(ran.mount("/out"), "/", "/opt", { contents: true, createDestPath: true })
        .rm("/tmp/t"),
    );
  return stack([files, State.scratch(amd64).file(new FileActions().mkfile("/z", Buffer.from([0, 1, 2])))], method, { name: "all" });
}

describe("encodeOp", () => {
  it("gives the bytes protobufjs's checked path (verify, fromObject, encode) gives, for every op we make", async () => {
    recorded.length = 0;
    warmUp();
    marshal(everyKind());
    // Again stacked by copying, as on Docker's classic store.
    marshal(everyKind("copy"));
    expect(recorded.length).toBeGreaterThan(20);
    const kinds = new Set(recorded.flatMap((op) => Object.keys(op)));
    for (const k of ["source", "exec", "file", "merge", "platform", "inputs"]) expect(kinds).toContain(k);
    const real = await vi.importActual<typeof import("../../src/proto/codec")>("../../src/proto/codec");
    const fast = (op: object) => Buffer.from(real.messageType("pb.Op").encode(op).finish());
    const checked = (op: object) => Buffer.from(real.encode("pb.Op", op));
    const differing = recorded.filter((op) => !fast(op).equals(checked(op)));
    expect(differing.map((op) => JSON.stringify(op).slice(0, 300))).toEqual([]);
  });
});
