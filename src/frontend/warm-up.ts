// What the frontend image's startup snapshot runs once before it is taken (src/cli.ts): the pure
// part of a build - parse, plan, LLB, image config, the gateway messages - on a sample input, so
// the snapshot holds V8's compiled code for them and a build does not compile them again (the
// parse and plan of a small file took 15 ms cold, 5 ms warm). Nothing here talks to BuildKit or
// keeps state: the results are thrown away.
import { decode, encode } from "../gateway/proto";
import { parseBuildOptions } from "../gateway/options";
import { imageResult } from "../gateway/result";
import { buildImageConfig, parseBaseConfig } from "../image/config";
import { marshal, merge, State } from "../llb";
import { hostPlatform } from "../llb/platform";
import { validateDefinition } from "../llb/validate";
import { parseEnvironment } from "../spec/environment";
import { appLayer, contextIncludes } from "../stages/app";
import { planBuild } from "../stages/plan";

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

export function warmUp(): void {
  const platform = hostPlatform();
  const opts = parseBuildOptions({ BUILDKIT_FRONTEND_OPT_0: "filename=environment.yml", BUILDKIT_FRONTEND_OPT_1: "build-arg:MODE=prod" }, platform);
  const data = Buffer.from(sampleInput);
  const plan = planBuild(parseEnvironment("environment.yml", sampleInput), opts);
  const sourceInfo = { filename: "environment.yml", data, language: "YAML" };
  const base = State.image(plan.base.ref, platform, { digest: `sha256:${"0".repeat(64)}`, sourceRanges: plan.base.range ? [plan.base.range] : undefined });
  const context = State.local("context", { sessionId: "warm-up", include: contextIncludes(plan.appCopy), sharedKeyHint: "context" });
  const app = appLayer({ platform, workdir: plan.workdir, copy: plan.appCopy, context });
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
  answer("ResolveImageConfigResponse", { Digest: `sha256:${"0".repeat(64)}`, Config: Buffer.from("{}") });
}
