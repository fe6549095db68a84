// validateDefinition(): the check run on every definition before it is sent.
import { describe, expect, it } from "vitest";
import { encode } from "../../src/proto/codec";
import { InvalidDefinitionError, marshal, merge, State, validateDefinition } from "../../src/llb";
import type { PbDefinition, PbOp } from "../../src/llb/pb";
import { amd64, sha256 } from "./helpers";

const op = (o: PbOp) => encode("pb.Op", o);
const source = op({ source: { identifier: "docker-image://docker.io/library/alpine:3.19" }, platform: amd64 });
const terminal = (digest: string, index = 0) => op({ inputs: [{ digest, index }] });

function rejects(def: PbDefinition, message: RegExp): void {
  expect(() => validateDefinition(def)).toThrow(InvalidDefinitionError);
  expect(() => validateDefinition(def)).toThrow(message);
}

describe("validateDefinition", () => {
  it("accepts a hand-built minimal definition", () => {
    expect(() => validateDefinition({ def: [source, terminal(sha256(source))] })).not.toThrow();
  });

  it("accepts what marshal produces", () => {
    const base = State.image("docker.io/library/alpine:3.19", amd64);
    const st = merge([base, base.run({ args: ["true"], mounts: [{ type: "tmpfs", dest: "/tmp" }] }).root()]);
    expect(() => validateDefinition(marshal(st))).not.toThrow();
  });

  it("accepts the empty definition", () => {
    expect(() => validateDefinition({ def: [] })).not.toThrow();
  });

  it("rejects metadata without ops", () => {
    rejects({ def: [], metadata: [{ key: sha256(source), value: {} }] }, /metadata without ops/);
  });

  it("rejects a dangling input digest", () => {
    const dangling = "sha256:" + "0".repeat(64);
    const exec = op({ inputs: [{ digest: dangling }], exec: { meta: { args: ["true"] }, mounts: [{ input: 0, dest: "/", output: 0 }] } });
    rejects({ def: [source, exec, terminal(sha256(exec))] }, new RegExp(`refers to ${dangling}, which is not in the definition`));
  });

  it("rejects a terminal op pointing at a missing op", () => {
    rejects({ def: [source, terminal("sha256:" + "1".repeat(64))] }, /not in the definition/);
  });

  it("rejects a definition whose last op has a body", () => {
    const file = op({ inputs: [{ digest: sha256(source) }], file: { actions: [{ input: 0, secondaryInput: -1, output: 0, mkdir: { path: "/x", mode: 0o755, timestamp: -1 } }] } });
    rejects({ def: [source, file] }, /last op must be the terminal op/);
  });

  it("rejects a last op with a platform", () => {
    const t = op({ inputs: [{ digest: sha256(source) }], platform: amd64 });
    rejects({ def: [source, t] }, /terminal/);
  });

  it("rejects a terminal op with two inputs", () => {
    const t = op({ inputs: [{ digest: sha256(source) }, { digest: sha256(source), index: 1 }] });
    rejects({ def: [source, t] }, /exactly one input/);
  });

  it("rejects a bodiless op that is not last", () => {
    const t = terminal(sha256(source));
    rejects({ def: [source, t, terminal(sha256(source), 1)] }, /only the last op may be terminal/);
  });

  it("rejects a single-op definition", () => {
    rejects({ def: [source] }, /at least one op and the terminal op/);
    rejects({ def: [terminal(sha256(source))] }, /at least one op and the terminal op/);
  });

  it("rejects an op listed twice", () => {
    rejects({ def: [source, source, terminal(sha256(source))] }, /listed twice/);
  });

  it("rejects bytes that do not decode", () => {
    rejects({ def: [new Uint8Array([0xff, 0xff, 0xff]), terminal(sha256(source))] }, /does not decode/);
  });

  it("rejects an op referring to the terminal op", () => {
    const t = terminal(sha256(source));
    const exec = op({ inputs: [{ digest: sha256(t) }], exec: { meta: { args: ["true"] }, mounts: [{ input: 0, dest: "/", output: 0 }] } });
    rejects({ def: [source, exec, t] }, new RegExp(`refers to ${sha256(t)}, which is not in the definition`));
  });

  it("rejects an exec mount of an input it does not have", () => {
    const exec = op({ inputs: [{ digest: sha256(source) }], exec: { meta: { args: ["true"] }, mounts: [{ input: 0, dest: "/", output: 0 }, { input: 1, dest: "/x", output: 1 }] } });
    rejects({ def: [source, exec, terminal(sha256(exec))] }, /mounts input 1 of 1/);
  });

  it("rejects metadata for a digest that is not in the definition", () => {
    const unknown = "sha256:" + "2".repeat(64);
    rejects({ def: [source, terminal(sha256(source))], metadata: [{ key: unknown, value: {} }] }, new RegExp(`metadata for ${unknown}`));
  });

  it("prefixes its messages so they read as a frontend error", () => {
    rejects({ def: [source] }, /^invalid LLB definition \(not sent to BuildKit\): /);
  });
});
