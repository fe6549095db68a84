// What the frontend image's startup snapshot runs once before it is taken (src/cli.ts): the pure
// part of a build - parse, plan, lock, the solve and install graphs, LLB, image config, the
// gateway messages - on a sample input, so the snapshot holds V8's compiled code for them and a
// build does not compile them again (the parse and plan of a small file took 15 ms cold, 5 ms
// warm). Nothing here talks to BuildKit or keeps state: the results are thrown away.
import { decode, encode } from "../proto/codec";
import { parseBuildOptions } from "../gateway/options";
import { imageResult } from "../gateway/result";
import { buildImageConfig, parseBaseConfig } from "../image/config";
import { marshal, merge, State } from "../llb";
import { hostPlatform } from "../llb/platform";
import { validateDefinition } from "../llb/validate";
import { formatSummary, isStepReport, type StepReport } from "../conda/prune/report";
import { parseEnvironment } from "../input/environment";
import { type Lock, type LockedPackage, readLock, writeCondaLock } from "../input/lock";
import { appLayer, contextIncludes } from "../stages/app";
import { installStage } from "../stages/install";
import { type BuildPlan, planBuild } from "../plan/plan";
import { solveRequest, solveStage, type ToolImage } from "../stages/solve";

const sampleInput = `name: warm-up
channels: [conda-forge]
dependencies:
  - python=3.12
  - pip
  - pip:
    - requests==2.32.3
image:
  env: {MODE: prod}
  ports: [8080]
  labels: {org.example.team: data}
  entrypoint: [python, app.py]
  app:
    copy: [app.py, "static/*"]
`;

const frontend = "moby.buildkit.v1.frontend.";
const zeros = (n: number) => "0".repeat(n);

function samplePackage(name: string, version: string, dir: string, dependencies: Record<string, string>): LockedPackage {
  const filename = `${name}-${version}-h0_0.conda`;
  return { name, version, build: "h0_0", platform: "linux-64", manager: "conda", url: `https://conda.example/${dir}/${filename}`, filename, md5: zeros(32), sha256: zeros(64), dependencies, category: "main", optional: false };
}

/** Lock, solve and install: the path of a build with conda packages, up to its LLB. */
function warmCondaPath(plan: BuildPlan, platform: ReturnType<typeof hostPlatform>, base: State): void {
  const sample: Lock = {
    version: 1,
    platforms: ["linux-64"],
    channels: ["conda-forge"],
    contentHash: { "linux-64": zeros(64) },
    sources: ["environment.yml"],
    packages: [samplePackage("python", "3.12.1", "linux-64", {}), samplePackage("pip", "24.0", "noarch", { python: ">=3.8" }), samplePackage("requests", "2.32.3", "noarch", { python: ">=3.8" })],
    ours: true,
  };
  const lock = readLock("conda-lock.yml", writeCondaLock(sample), "linux-64");
  const tool: ToolImage = { ref: "localhost/conda-frontend:warm-up", digest: `sha256:${zeros(64)}`, platform, entrypoint: ["/nodejs/bin/node"], env: [] };
  const request = solveRequest(plan.conda, [{ platform, baseGlibc: "2.36" }], "environment.yml");
  marshal(solveStage({ tool, request, network: "sandbox", ignoreCache: false }));
  const stage = installStage({
    tool,
    packages: lock.packages,
    prefix: plan.prefix,
    requested: { python: "python=3.12" },
    variables: [],
    ignoreCache: false,
    compilePyc: true,
    privateChannels: [],
    prune: { remove: plan.conda.prune.remove, keep: plan.conda.prune.keep },
    network: "sandbox",
  });
  const installed = merge([base, ...stage.layers], { name: "warm-up" });
  // With the merge op, and lowered to copies as on Docker's classic store (its caps: no mergeop).
  marshal(installed);
  marshal(installed, { caps: new Set(["source.image", "source.http", "source.http.checksum", "exec.meta.base", "exec.mount.bind", "exec.mount.tmpfs", "exec.meta.network", "file.base", "constraints", "platform", "meta.description"]) });
  const reports: StepReport[] = lock.packages.map((p) => ({ kind: "package", name: p.name, written: { files: 10, bytes: 1000 }, pruned: { "include/**": { files: 1, bytes: 10 } } }));
  formatSummary(plan.prefix, plan.conda.prune.preset, reports.filter((r) => isStepReport(JSON.parse(JSON.stringify(r)))));
}

export function warmUp(): void {
  const platform = hostPlatform();
  const opts = parseBuildOptions({ BUILDKIT_FRONTEND_OPT_0: "filename=environment.yml", BUILDKIT_FRONTEND_OPT_1: "build-arg:MODE=prod" }, platform);
  const data = Buffer.from(sampleInput);
  const plan = planBuild(parseEnvironment("environment.yml", sampleInput), opts);
  const sourceInfo = { filename: "environment.yml", data, language: "YAML" };
  const base = State.image(plan.base.ref, platform, { digest: `sha256:${zeros(64)}`, sourceRanges: plan.base.range ? [plan.base.range] : undefined });
  const context = State.local("context", { sessionId: "warm-up", include: contextIncludes(plan.appCopy), sharedKeyHint: "context" });
  const app = appLayer({ platform, workdir: plan.workdir, copy: plan.appCopy, context });
  warmCondaPath(plan, platform, base);
  const definition = marshal(merge([base, app], { name: "warm-up" }), { sourceInfo });
  validateDefinition(definition);
  encode(frontend + "SolveRequest", { Definition: definition, allowResultReturn: true, allowResultArrayRef: true });
  const config = buildImageConfig(parseBaseConfig(undefined, platform), { platform, ...plan.image });
  encode(frontend + "ReturnRequest", { result: imageResult([{ platform, refId: "warm-up", config }]) });
  encode(frontend + "WarnRequest", { level: 1, short: data, info: sourceInfo, ranges: [{ start: { line: 1 }, end: { line: 1 } }] });
  encode(frontend + "ReadFileRequest", { Ref: "warm-up", FilePath: "environment.yml" });
  encode(frontend + "ResolveImageConfigRequest", { Ref: plan.base.ref, Platform: platform, ResolveMode: "default", LogName: "warm-up" });
  const answer = <T>(type: string, value: object): T => decode<T>(frontend + type, encode(frontend + type, value));
  answer("PongResponse", { FrontendAPICaps: [{ ID: "solve.base", Enabled: true }], LLBCaps: [{ ID: "source.image", Enabled: true }], Workers: [{ ID: "w", platforms: [platform] }] });
  answer("SolveResponse", { result: { ref: { id: "warm-up" } } });
  answer("ReadFileResponse", { Data: data });
  answer("ResolveImageConfigResponse", { Digest: `sha256:${zeros(64)}`, Config: Buffer.from("{}") });
}
