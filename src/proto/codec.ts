// Loads our .proto files (proto/) once and hands out the message types by name: the codec both
// the LLB builder (marshal, validate) and the gateway client use, in a folder of its own as
// BuildKit keeps its protobuf types, so neither imports the other for it.
// Field names are kept exactly as declared (keepCase), so objects we build read like BuildKit's
// Go structs: `{Definition, FrontendOpt, allowResultReturn}`.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const protoFiles = ["buildkit/ops.proto", "buildkit/types.proto", "buildkit/gateway.proto", "google/status.proto"];

// Sources run from src/proto/, the bundle from dist/; both find proto/ by walking up.
function findProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "proto");
    if (existsSync(join(candidate, "buildkit", "gateway.proto"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("proto/buildkit/gateway.proto not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let root: protobuf.Root | undefined;

// The bundle (scripts/bundle.mjs) embeds the parsed protos as JSON: loading that is ~4x faster
// than parsing .proto text, and the frontend starts once per build.
declare const __CONDA_FRONTEND_PROTO__: protobuf.INamespace | undefined;

export function protoRoot(): protobuf.Root {
  if (root) return root;
  if (typeof __CONDA_FRONTEND_PROTO__ !== "undefined") {
    root = protobuf.Root.fromJSON(__CONDA_FRONTEND_PROTO__);
    root.resolveAll();
    return root;
  }
  root = parseProtoFiles();
  return root;
}

/** Parses proto/ (sources run this way; the bundle script too, to embed the result). */
export function parseProtoFiles(): protobuf.Root {
  const dir = findProtoDir();
  const r = new protobuf.Root();
  for (const file of protoFiles) {
    // parse() resolves nothing by itself; imports are all in protoFiles, so skip them.
    protobuf.parse(readFileSync(join(dir, file), "utf8"), r, { keepCase: true });
  }
  r.resolveAll();
  return r;
}

/**
 * Builds every message type's encoder and decoder now (protobufjs otherwise generates them on
 * first use): for the startup snapshot, so builds start with them ready.
 */
export function prepareCodecs(): void {
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) nested.setup();
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(protoRoot());
}

const types = new Map<string, protobuf.Type>();

/** The named message type; looked up once (a namespace lookup walks the tree: ~60 us each). */
export function messageType(name: string): protobuf.Type {
  let type = types.get(name);
  if (!type) types.set(name, (type = protoRoot().lookupType(name)));
  return type;
}

/** Encodes a plain object as the named message. Unknown keys are a programming error. */
export function encode(name: string, value: object): Uint8Array {
  const type = messageType(name);
  const problem = type.verify(value);
  if (problem) throw new Error(`invalid ${name}: ${problem}`);
  return type.encode(type.fromObject(value)).finish();
}

/** Decodes bytes into a plain object: int64 as number, bytes as Uint8Array, no defaults filled. */
export function decode<T>(name: string, bytes: Uint8Array): T {
  const type = messageType(name);
  return type.toObject(type.decode(bytes), { longs: Number, enums: Number, defaults: false, arrays: true, objects: true }) as T;
}
