// The build machine's python for .pyc of foreign platforms (plan/pyc-compiler.ts): taken from the
// lock when it has one, else solved in a step of its own, once per python version.
import { isVirtualPackageName, subdirOf } from "../conda/virtual-packages";
import type { Bridge } from "../gateway/bridge";
import type { PbSourceInfo } from "../llb/pb";
import type { LockPlan, ToolImage } from "../plan/image-plan";
import type { BuildPlan } from "../plan/plan";
import { compilerFromLock, compilerNeeds, compilerSolveRequest, type PycCompiler } from "../plan/pyc-compiler";
import { runSolveStep } from "./conda";
import type { InputFile } from "./inputs";

/**
 * The build-machine pythons the build's foreign platforms need. A version the channel does not have for the
 * build machine gets none: its platform's .pyc are then not compiled (image.ts says so).
 */
export async function pycCompilers(bridge: Bridge, plan: BuildPlan, input: InputFile, sourceInfo: PbSourceInfo, lock: LockPlan, tool: ToolImage): Promise<PycCompiler[]> {
  // .pyc, the pip: list and app.install: pip each need it on a foreign platform.
  if (!plan.conda.compilePyc && !plan.conda.pip.length && !plan.appInstall) return [];
  const toolSubdir = subdirOf(tool.platform);
  const found = await Promise.all(
    compilerNeeds(lock.lock, plan.platforms, tool.platform).map(async (need) => {
      const fromLock = compilerFromLock(lock.lock, need, toolSubdir);
      if (fromLock) return fromLock;
      const request = compilerSolveRequest(need, toolSubdir, plan.conda.privateChannels);
      const result = await runSolveStep(bridge, plan, input, sourceInfo, tool, request);
      if (!result.ok) return undefined;
      return { version: need.version, subdir: toolSubdir, packages: result.lock.packages.filter((p) => p.platform === toolSubdir && !isVirtualPackageName(p.name)), solve: request };
    }),
  );
  return found.filter((c): c is PycCompiler => c !== undefined);
}
