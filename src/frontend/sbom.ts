// --sbom: the SBOM step's output (stages/sbom.ts) as a ref of its own for the attestation. The
// step ran in the image's Solve (its file is a layer of the image), so this Solve only hands
// back the result BuildKit already has; nothing is read from it.
import type { Bridge } from "../gateway/bridge";
import type { PlatformResult } from "../gateway/result";
import { marshal } from "../llb";
import type { PbSourceInfo } from "../llb/pb";
import type { ImagePlan } from "../plan/image-plan";
import type { ImageGraph } from "../stages/image";

export async function sbomRef(bridge: Bridge, plan: ImagePlan, graph: ImageGraph, sourceInfo: PbSourceInfo): Promise<PlatformResult["sbom"]> {
  if (!graph.sbom) return undefined;
  const refId = await bridge.solve(marshal(graph.sbom.file, { caps: bridge.llbCaps, ignoreCache: plan.build.ignoreCache, sourceInfo }), { evaluate: true });
  return { refId, path: graph.sbom.path };
}
