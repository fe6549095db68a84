// A definition as text for golden files: one block per op in definition order, inputs named by
// their position (#n), with what a reviewer needs to see (the step's name, its command, mounts,
// file actions, source identifier) and every op's digest, so a change anywhere shows as a diff.
import { createHash } from "node:crypto";
import type { PbDefinition, PbFileAction, PbMount } from "../../src/llb/pb";
import { decodeOps } from "../llb/helpers";

const short = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text);

function describeMount(m: PbMount, input: (i: number) => string): string {
  const from = input(m.input);
  const type = ["bind", "secret", "ssh", "cache", "tmpfs"][m.mountType ?? 0];
  const extra = [m.selector ? `selector=${m.selector}` : "", m.readonly ? "ro" : "", m.contentCache === 2 ? "content-cache=off" : "", m.cacheOpt ? `id=${m.cacheOpt.ID}` : "", m.secretOpt ? `secret=${m.secretOpt.ID}` : ""].filter(Boolean).join(" ");
  return `${m.dest} ${type} ${type === "bind" ? from : ""}${extra ? ` ${extra}` : ""}`.replace(/\s+/g, " ").trim();
}

function describeAction(a: PbFileAction, input: (i: number) => string): string {
  const on = input(a.input);
  if (a.copy) return `copy ${input(a.secondaryInput)}:${a.copy.src} -> ${on}:${a.copy.dest}`;
  if (a.mkfile) return `mkfile ${a.mkfile.path} mode ${a.mkfile.mode.toString(8)} (${a.mkfile.data?.length ?? 0} bytes, sha256 ${createHash("sha256").update(a.mkfile.data ?? new Uint8Array()).digest("hex").slice(0, 12)})`;
  if (a.mkdir) return `mkdir ${a.mkdir.path} mode ${a.mkdir.mode.toString(8)}`;
  if (a.rm) return `rm ${a.rm.path}`;
  return "?";
}

export function llbListing(def: PbDefinition): string {
  const ops = decodeOps(def);
  const position = new Map(ops.map((o, i) => [o.digest, i]));
  const lines = [`definition: ${ops.length} ops, sha256 of all op bytes ${createHash("sha256").update(Buffer.concat(def.def)).digest("hex")}`];
  ops.forEach((o, i) => {
    const md = def.metadata?.find((m) => m.key === o.digest)?.value;
    const name = md?.description?.find((d) => d.key === "llb.customname")?.value;
    const inputs = o.op.inputs ?? [];
    // An index past the op's inputs is the output of an earlier action of the same file op; -1 is scratch.
    const input = (i: number) => {
      const n = Number(i ?? 0);
      if (n < 0) return "scratch";
      if (n >= inputs.length) return `action ${n - inputs.length}`;
      return `#${position.get(inputs[n]!.digest)}${Number(inputs[n]!.index ?? 0) ? `[${inputs[n]!.index}]` : ""}`;
    };
    const flags = [md?.ignore_cache ? "ignore-cache" : "", ...(md?.caps ?? []).map((c) => c.key)].filter(Boolean);
    lines.push(`#${i} ${o.digest}${name ? ` ${JSON.stringify(name)}` : ""}${flags.length ? ` [${flags.join(" ")}]` : ""}`);
    if (o.op.source) lines.push(`   source ${o.op.source.identifier}${o.op.source.attrs?.length ? ` (${o.op.source.attrs.map((e) => `${e.key}=${short(e.value, 80)}`).join(" ")})` : ""}`);
    if (o.op.exec) {
      lines.push(`   exec ${short(o.op.exec.meta.args.join(" "))}`);
      if (o.op.exec.meta.env?.length) lines.push(`     env ${o.op.exec.meta.env.map((e) => e.split("=")[0]).join(" ")}`);
      for (const m of o.op.exec.mounts) lines.push(`     mount ${describeMount(m, input)}`);
    }
    if (o.op.file) for (const a of o.op.file.actions) lines.push(`   ${describeAction(a, input)}`);
    if (o.op.merge) lines.push(`   merge ${o.op.merge.inputs.map((m) => input(m.input)).join(" ")}`);
    if (!o.op.source && !o.op.exec && !o.op.file && !o.op.merge) lines.push(`   result ${inputs.map((_, n) => input(n)).join(" ")}`);
  });
  return lines.join("\n") + "\n";
}
