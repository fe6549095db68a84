// The digest BuildKit gives an op: sha256 of its serialized bytes.
import { hash } from "node:crypto";

export function opDigest(bytes: Uint8Array): string {
  // One-shot hash: a definition has hundreds of ops, and a Hash object per op cost 7 us each.
  return "sha256:" + hash("sha256", bytes, "hex");
}
