// The Result a build returns: one ref and its image config for a single platform, or refs keyed
// by platform plus the `refs.platforms` list for a multi-platform build.
import type { Result } from "./messages";
import { formatPlatform } from "../llb/platform";
import type { PbPlatform } from "../llb/pb";

export interface PlatformResult {
  platform: PbPlatform;
  refId: string;
  config: object;
  baseConfig?: Uint8Array;
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

export function imageResult(results: PlatformResult[], extra: Record<string, Uint8Array> = {}): Result {
  const metadata: Record<string, Uint8Array> = { ...extra };
  if (results.length === 1) {
    const [r] = results as [PlatformResult];
    metadata["containerimage.config"] = json(r.config);
    if (r.baseConfig) metadata["containerimage.base.config"] = r.baseConfig;
    return { ref: { id: r.refId }, metadata };
  }
  const refs: Record<string, { id: string }> = {};
  const platforms = results.map((r) => {
    const id = formatPlatform(r.platform);
    refs[id] = { id: r.refId };
    metadata[`containerimage.config/${id}`] = json(r.config);
    if (r.baseConfig) metadata[`containerimage.base.config/${id}`] = r.baseConfig;
    const platform: Record<string, string> = { os: r.platform.OS, architecture: r.platform.Architecture };
    if (r.platform.Variant) platform.variant = r.platform.Variant;
    return { ID: id, Platform: platform };
  });
  metadata["refs.platforms"] = json({ Platforms: platforms });
  return { refs: { refs }, metadata };
}
