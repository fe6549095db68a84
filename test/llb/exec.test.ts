// Exec ops through State.run: mount order, output indexes, and the mount options BuildKit reads.
import { describe, expect, it } from "vitest";
import { marshal, State } from "../../src/llb";
import type { PbMount } from "../../src/llb/pb";
import { amd64, decodeOps, metadataOf, resultOp } from "./helpers";

const base = () => State.image("docker.io/library/alpine:3.19", amd64);

function execOf(st: State) {
  const def = marshal(st);
  const exec = decodeOps(def).find((o) => o.op.exec)!;
  return { def, exec, mounts: exec.op.exec!.mounts as PbMount[] };
}

function withManyMounts() {
  const src = State.local("context");
  const out = State.scratch(amd64);
  return base().run({
    args: ["build"],
    mounts: [
      { type: "tmpfs", dest: "/tmp" },
      { type: "bind", dest: "/src", from: src, readonly: true },
      { type: "bind", dest: "/out/b", from: out },
      { type: "cache", dest: "/cache", id: "c" },
      { type: "secret", dest: "/run/secrets/token", id: "token" },
      { type: "bind", dest: "/out", from: out },
    ],
  });
}

describe("exec mounts", () => {
  it("puts the root first and sorts the rest by destination", () => {
    const { mounts } = execOf(withManyMounts().root());
    expect(mounts.map((m) => m.dest)).toEqual(["/", "/cache", "/out", "/out/b", "/run/secrets/token", "/src", "/tmp"]);
  });

  it("numbers outputs: root 0, writable binds 1.. in mount order, everything else -1", () => {
    const { mounts } = execOf(withManyMounts().root());
    const output = Object.fromEntries(mounts.map((m) => [m.dest, m.output ?? 0]));
    expect(output).toEqual({ "/": 0, "/cache": -1, "/out": 1, "/out/b": 2, "/run/secrets/token": -1, "/src": -1, "/tmp": -1 });
    expect(mounts.find((m) => m.dest === "/src")!.readonly).toBe(true);
  });

  it("gives mount(dest) the output index of that mount", () => {
    const res = withManyMounts();
    expect(resultOp(marshal(res.root())).op.exec).toBeDefined();
    const terminalIndex = (st: State) => {
      const ops = decodeOps(marshal(st));
      return ops[ops.length - 1]!.op.inputs![0]!.index ?? 0;
    };
    expect(terminalIndex(res.root())).toBe(0);
    expect(terminalIndex(res.mount("/out"))).toBe(1);
    expect(terminalIndex(res.mount("/out/b"))).toBe(2);
  });

  it("refuses mount(dest) for mounts that produce no output", () => {
    const res = withManyMounts();
    expect(() => res.mount("/src")).toThrow(/no writable mount at \/src/);
    expect(() => res.mount("/cache")).toThrow(/no writable mount/);
    expect(() => res.mount("/nowhere")).toThrow(/no writable mount/);
  });

  it("points bind inputs at the right op inputs and leaves scratch as -1", () => {
    const { exec, mounts } = execOf(withManyMounts().root());
    const inputs = exec.op.inputs!;
    expect(inputs).toHaveLength(2); // the image (root) and the context; scratch is no input
    const [root, , out, outB, , srcMount] = mounts;
    expect(root!.input ?? 0).toBe(0);
    expect(srcMount!.input).toBe(1);
    expect(out!.input).toBe(-1);
    expect(outB!.input).toBe(-1);
  });

  it("writes cache mounts with their id and sharing code", () => {
    const sharing = (s?: "shared" | "private" | "locked") => {
      const { mounts } = execOf(base().run({ args: ["x"], mounts: [{ type: "cache", dest: "/c", id: "pip", ...(s ? { sharing: s } : {}) }] }).root());
      const m = mounts.find((m) => m.dest === "/c")!;
      expect(m.mountType).toBe(3);
      expect(m.cacheOpt!.ID).toBe("pip");
      return m.cacheOpt!.sharing ?? 0;
    };
    expect(sharing()).toBe(0);
    expect(sharing("shared")).toBe(0);
    expect(sharing("private")).toBe(1);
    expect(sharing("locked")).toBe(2);
  });

  it("writes secret mounts with id, owner, mode and optional", () => {
    const { mounts } = execOf(
      base().run({
        args: ["x"],
        mounts: [
          { type: "secret", dest: "/run/secrets/a", id: "a" },
          { type: "secret", dest: "/run/secrets/b", id: "b", uid: 1000, gid: 100, mode: 0o440, optional: true },
        ],
      }).root(),
    );
    const [a, b] = mounts.slice(1);
    expect(a).toMatchObject({ dest: "/run/secrets/a", input: -1, output: -1, mountType: 1, secretOpt: { ID: "a", mode: 0o400 } });
    expect(a!.secretOpt!.uid).toBeUndefined();
    expect(a!.secretOpt!.optional).toBeUndefined();
    expect(b!.secretOpt).toEqual({ ID: "b", uid: 1000, gid: 100, mode: 0o440, optional: true });
  });

  it("writes tmpfs mounts with their size", () => {
    const { mounts, def, exec } = execOf(base().run({ args: ["x"], mounts: [{ type: "tmpfs", dest: "/t", size: 1 << 20 }] }).root());
    expect(mounts[1]).toMatchObject({ dest: "/t", mountType: 4, TmpfsOpt: { size: 1 << 20 } });
    const caps = metadataOf(def, exec.digest)!.caps!.map((c) => c.key);
    expect(caps).toContain("exec.mount.tmpfs");
    expect(caps).toContain("exec.mount.tmpfs.size");
  });

  it("writes a bind selector and asks for its cap", () => {
    const { mounts, def, exec } = execOf(base().run({ args: ["x"], mounts: [{ type: "bind", dest: "/s", from: State.local("c"), selector: "/sub", readonly: true }] }).root());
    expect(mounts[1]!.selector).toBe("/sub");
    expect(metadataOf(def, exec.digest)!.caps!.map((c) => c.key)).toContain("exec.mount.selector");
  });

  it("turns BuildKit's content hashing of a bind mount off when asked, with its cap, and leaves it at the default otherwise", () => {
    const mounts = (contentCache?: "off") => [{ type: "bind" as const, dest: "/s", from: State.local("c"), readonly: true, ...(contentCache ? { contentCache } : {}) }];
    const off = execOf(base().run({ args: ["x"], mounts: mounts("off") }).root());
    expect(off.mounts[1]!.contentCache).toBe(2);
    expect(metadataOf(off.def, off.exec.digest)!.caps!.map((c) => c.key)).toContain("exec.mount.cache.content");
    const plain = execOf(base().run({ args: ["x"], mounts: mounts() }).root());
    expect(plain.mounts[1]!.contentCache ?? 0).toBe(0);
    expect(metadataOf(plain.def, plain.exec.digest)!.caps!.map((c) => c.key)).not.toContain("exec.mount.cache.content");
  });

  it("rejects relative and root mount targets, and an empty command", () => {
    expect(() => base().run({ args: ["x"], mounts: [{ type: "tmpfs", dest: "tmp" }] })).toThrow(/absolute path/);
    expect(() => base().run({ args: ["x"], mounts: [{ type: "tmpfs", dest: "/" }] })).toThrow(/other than \//);
    expect(() => base().run({ args: [] })).toThrow(/at least one argument/);
  });
});

describe("exec settings", () => {
  it("inherits env, cwd and user from the state and lets run() override them", () => {
    const st = base().withEnv("A", "1").withCwd("/work").withUser("app");
    const meta = (s: State) => execOf(s).exec.op.exec!.meta;
    expect(meta(st.run({ args: ["x"] }).root())).toMatchObject({ args: ["x"], cwd: "/work", user: "app" });
    expect(meta(st.run({ args: ["x"] }).root()).env).toContain("A=1");
    const overridden = meta(st.run({ args: ["x"], env: { A: "2", B: "3" }, cwd: "/other", user: "root" }).root());
    expect(overridden).toMatchObject({ cwd: "/other", user: "root" });
    expect(overridden.env!.filter((e) => e.startsWith("A="))).toEqual(["A=2"]);
    expect(overridden.env).toContain("B=3");
  });

  it("names the vertex after its command unless a name is given", () => {
    const named = (s: State) => {
      const { def, exec } = execOf(s);
      return metadataOf(def, exec.digest)!.description!.find((d) => d.key === "llb.customname")!.value;
    };
    expect(named(base().run({ args: ["pip", "install", "x"] }).root())).toBe("pip install x");
    expect(named(base().run({ args: ["x"], name: "[install] x" }).root())).toBe("[install] x");
  });

  it("writes the network mode: sandbox omitted, host 1, none 2", () => {
    const net = (n?: "sandbox" | "host" | "none") => execOf(base().run({ args: ["x"], ...(n ? { network: n } : {}) }).root()).exec.op.exec!.network ?? 0;
    expect(net()).toBe(0);
    expect(net("sandbox")).toBe(0);
    expect(net("host")).toBe(1);
    expect(net("none")).toBe(2);
  });

  it("keeps the exec platform on the op", () => {
    expect(execOf(base().run({ args: ["x"] }).root()).exec.op.platform).toMatchObject(amd64);
  });
});

describe("read-only root", () => {
  it("mounts the root read-only with no output, and numbers the writable binds from 0", () => {
    const out = State.scratch(amd64);
    const ran = base().run({ args: ["tool"], readonlyRoot: true, mounts: [{ type: "bind", dest: "/out", from: out }, { type: "bind", dest: "/report", from: out }, { type: "tmpfs", dest: "/tmp" }] });
    const { mounts } = execOf(ran.mount("/report"));
    expect(mounts[0]).toMatchObject({ dest: "/", output: -1, readonly: true });
    expect(mounts[0]!.input ?? 0).toBe(0); // the image
    expect(Object.fromEntries(mounts.map((m) => [m.dest, m.output ?? 0]))).toEqual({ "/": -1, "/out": 0, "/report": 1, "/tmp": -1 });
    expect(resultOp(marshal(ran.mount("/out"))).op.exec).toBeDefined();
    expect(() => ran.root()).toThrow(/no writable mount at \//);
  });
});
