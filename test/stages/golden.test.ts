// Golden plan -> LLB: committed plans (test/stages/golden/*.plan.json, written by real builds'
// `--target plan`, see golden/README.md) turned into each platform's image graph and the lock
// target's, marshalled, and compared with committed listings (*.llb.txt): op by op, with every
// digest. A change to a stage, to the LLB builder or to the protobuf encoding changes cache keys
// of every user's builds; here it shows as a diff to review. UPDATE_GOLDEN=1 rewrites the listings.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { marshal } from "../../src/llb";
import { formatPlatform } from "../../src/llb/platform";
import { type ImagePlan, planJson } from "../../src/plan/image-plan";
import { imageGraph, lockGraph } from "../../src/stages/image";
import { llbListing } from "./llb-listing";

const dir = join(__dirname, "golden");
const cases = readdirSync(dir).filter((f) => f.endsWith(".plan.json")).map((f) => f.slice(0, -".plan.json".length)).sort();

function listing(plan: ImagePlan): string {
  const sourceInfo = { filename: plan.input.name, data: Buffer.from(plan.input.text), language: "YAML" };
  const parts = plan.platforms.map((p) => {
    const graph = imageGraph(plan, p);
    return `== image ${formatPlatform(p.platform)}\nhistory:\n${graph.history.map((h) => `  ${h}`).join("\n")}\n${llbListing(marshal(graph.image, { ignoreCache: plan.build.ignoreCache, sourceInfo }))}`;
  });
  if (plan.lock) parts.push(`== lock target\n${llbListing(marshal(lockGraph(plan)))}`);
  return parts.join("\n");
}

describe("golden plans -> LLB", () => {
  it("has plans to check (the three committed cases)", () => {
    expect(cases).toEqual(["app-only", "fixture-classic", "webapp-containerd"]);
  });

  for (const name of cases) {
    const text = readFileSync(join(dir, `${name}.plan.json`), "utf8");
    const plan = JSON.parse(text) as ImagePlan;

    it(`${name}: plan.json reads back to the same text (the plan is plain, stable JSON)`, () => {
      expect(planJson(plan)).toBe(text);
    });

    it(`${name}: makes the committed LLB, op for op and digest for digest`, () => {
      const got = listing(plan);
      const file = join(dir, `${name}.llb.txt`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, got);
      expect(got).toBe(readFileSync(file, "utf8"));
    });
  }

  it("a change of the plan changes the graph (the comparison can fail)", () => {
    const plan = JSON.parse(readFileSync(join(dir, "webapp-containerd.plan.json"), "utf8")) as ImagePlan;
    const changed: ImagePlan = { ...plan, build: { ...plan.build, prefix: "/opt/other" } };
    expect(listing(changed)).not.toBe(listing(plan));
  });
});
