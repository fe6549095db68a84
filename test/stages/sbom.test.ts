// --sbom in the image's graph: the SBOM step reads every report folder, its file is the image's
// top layer, and a plan without --sbom makes the graph it made before (the golden listings).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { marshal } from "../../src/llb";
import type { ImagePlan } from "../../src/plan/image-plan";
import { imageGraph, sbomRequest } from "../../src/stages/image";
import { resultOp } from "../llb/helpers";
import { llbListing } from "./llb-listing";

const golden = JSON.parse(readFileSync(join(__dirname, "golden/webapp-containerd.plan.json"), "utf8")) as ImagePlan;
const withSbom: ImagePlan = { ...golden, build: { ...golden.build, sbom: true } };
const platform = golden.platforms[0]!;

describe("the SBOM step in the image graph", () => {
  it("runs our tool's sbom command over the install and pip report folders, read-only, without network", () => {
    const graph = imageGraph(withSbom, platform);
    const listing = llbListing(marshal(graph.sbom!.file));
    expect(listing).toMatch(/sbom \/in\/request\.json \/out\/sbom\.spdx\.json \/reports\/0 \/reports\/1/);
    expect(listing).toMatch(/\/reports\/0 bind #\d+ ro/);
    expect(listing).toMatch(/\/reports\/1 bind #\d+ ro/);
    // pb.NetMode NONE = 2: the step reads only its mounts.
    expect(resultOp(marshal(graph.sbom!.file)).op.exec?.network).toBe(2);
    expect(graph.sbom!.path).toBe("/sbom.spdx.json");
  });

  it("puts the document at <prefix>/conda-meta/sbom.spdx.json in a layer of its own on top, with its history line", () => {
    const graph = imageGraph(withSbom, platform);
    const plain = imageGraph(golden, platform);
    expect(graph.history).toEqual([...plain.history, `conda-frontend: SBOM ${golden.build.prefix}/conda-meta/sbom.spdx.json`]);
    const listing = llbListing(marshal(graph.image));
    expect(listing).toMatch(new RegExp(`copy #\\d+:/sbom\\.spdx\\.json -> action 0:${golden.build.prefix}/conda-meta/sbom\\.spdx\\.json`));
    // The image's last op stacks the dated layer on everything else.
    expect(listing).toMatch(/"\[image linux\/amd64\] add the SBOM" \[mergeop\]\n\s+merge #\d+ #\d+\n/);
  });

  it("tells the step every conda package of the platform with its checksums and dependencies, and the base by digest", () => {
    const graph = imageGraph(withSbom, platform);
    const req = sbomRequest(withSbom, platform, graph.environment!);
    expect(req.packages.map((p) => p.name)).toEqual(graph.environment!.packages.map((p) => p.name));
    expect(req.packages.every((p) => p.sha256 && p.url.startsWith("http"))).toBe(true);
    expect(req.base).toEqual({ ref: golden.build.base.ref, digest: platform.base.digest });
    expect(req.prefix).toBe(golden.build.prefix);
  });

  it("is left out without --sbom: no step, no layer", () => {
    const graph = imageGraph(golden, platform);
    expect(graph.sbom).toBeUndefined();
    expect(llbListing(marshal(graph.image))).not.toContain("sbom");
  });
});

describe("the SBOM of an image without conda packages", () => {
  const appOnly = JSON.parse(readFileSync(join(__dirname, "golden/app-only.plan.json"), "utf8")) as ImagePlan;
  const plan: ImagePlan = { ...appOnly, build: { ...appOnly.build, sbom: true } };

  it("is written by a file op at graph time (no tool step: nothing to report), the same graph on every build", () => {
    const a = imageGraph(plan, plan.platforms[0]!);
    const listing = llbListing(marshal(a.sbom!.file));
    expect(listing).toMatch(/mkfile \/sbom\.spdx\.json mode 644/);
    expect(listing).not.toContain("exec");
    expect(llbListing(marshal(imageGraph(plan, plan.platforms[0]!).image))).toBe(llbListing(marshal(a.image)));
    expect(a.history.at(-1)).toBe(`conda-frontend: SBOM ${plan.build.prefix}/conda-meta/sbom.spdx.json`);
  });
});
