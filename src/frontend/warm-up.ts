// What the frontend image's startup snapshot runs once before it is taken (src/cli.ts): the pure
// part of a build - parse, plan, lock, the solve and install graphs, LLB, image config, the
// gateway messages - on a sample input, so the snapshot holds V8's compiled code for them and a
// build does not compile them again (the parse and plan of a small file took 15 ms cold, 5 ms
// warm). Nothing here talks to BuildKit or keeps state: the results are thrown away.
import { decode, encode } from "../proto/codec";
import { parseBuildOptions } from "../gateway/options";
import { imageResult } from "../gateway/result";
import { buildImageConfig, parseBaseConfig } from "../image/config";
import { marshal } from "../llb";
import { hostPlatform } from "../llb/platform";
import { validateDefinition } from "../llb/validate";
import { formatSummary, isStepReport, type StepReport } from "../conda/prune/report";
import { parseEnvironment } from "../input/environment";
import { type Lock, type LockedPackage, readLock, writeCondaLock } from "../input/lock";
import { type ImagePlan, planJson, type ToolImage } from "../plan/image-plan";
import { type BuildPlan, planBuild } from "../plan/plan";
import { imageGraph, lockGraph } from "../stages/image";
import { noticeGraph } from "./notices";
import { solveRequest } from "../plan/lock-request";

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

/** The complete plan of a build with conda packages, solved in this build. */
function samplePlan(plan: BuildPlan, platform: ReturnType<typeof hostPlatform>): ImagePlan {
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
  const solve = solveRequest(plan.conda, [{ platform, baseGlibc: "2.36" }], "environment.yml");
  return {
    input: { name: "environment.yml", text: sampleInput },
    build: plan,
    daemon: { stack: "merge" },
    tool,
    lock: { lock, fileName: "conda-lock.yml", solve },
    context: { name: "context", sessionId: "warm-up", exclude: [] },
    platforms: [{ platform, base: { digest: `sha256:${zeros(64)}` } }],
  };
}

/** The image's graph as the build makes it, with the merge op and stacked by copies (Docker's classic store). */
function warmGraphs(plan: ImagePlan, sourceInfo: { filename: string; data: Uint8Array; language: string }): void {
  for (const stack of ["merge", "copy"] as const) {
    const p = { ...plan, daemon: { ...plan.daemon, stack } };
    const definition = marshal(imageGraph(p, p.platforms[0]!).image, { sourceInfo });
    validateDefinition(definition);
    encode(frontend + "SolveRequest", { Definition: definition, allowResultReturn: true, allowResultArrayRef: true });
  }
  marshal(lockGraph(plan));
  marshal(noticeGraph(["linux/amd64: environment /opt/conda: 1 MiB in 10 files from 3 packages"]));
  planJson(plan);
  const reports: StepReport[] = plan.lock!.lock.packages.map((p) => ({ kind: "package", name: p.name, written: { files: 10, bytes: 1000 }, pruned: { "include/**": { files: 1, bytes: 10 } } }));
  formatSummary(plan.build.prefix, plan.build.conda.prune.preset, reports.filter((r) => isStepReport(JSON.parse(JSON.stringify(r)))));
}

export function warmUp(): void {
  const platform = hostPlatform();
  const opts = parseBuildOptions({ BUILDKIT_FRONTEND_OPT_0: "filename=environment.yml", BUILDKIT_FRONTEND_OPT_1: "build-arg:MODE=prod" }, platform);
  const data = Buffer.from(sampleInput);
  const plan = planBuild(parseEnvironment("environment.yml", sampleInput), opts);
  const sourceInfo = { filename: "environment.yml", data, language: "YAML" };
  warmGraphs(samplePlan(plan, platform), sourceInfo);
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
