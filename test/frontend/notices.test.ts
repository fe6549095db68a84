// Notices: information shown as steps of the progress output, not as build warnings.
import { describe, expect, it } from "vitest";
import { marshal } from "../../src/llb";
import { noticeGraph } from "../../src/frontend/notices";
import { decodeOps, metadataOf } from "../llb/helpers";

const names = (notices: string[]) => {
  const def = marshal(noticeGraph(notices));
  return decodeOps(def).map((o) => metadataOf(def, o.digest)?.description?.find((d) => d.key === "llb.customname")?.value).filter(Boolean);
};

describe("noticeGraph", () => {
  it("names one step per notice, in order, each prefixed [info], all in one graph (one Solve shows them)", () => {
    expect(names(["linux/amd64: environment /opt/conda: 1 MiB", "ran the post-link scripts of x"])).toEqual(["[info] linux/amd64: environment /opt/conda: 1 MiB", "[info] ran the post-link scripts of x"]);
  });

  it("gives the same notice the same op (cached on a rebuild, shown as CACHED) and another notice another op", () => {
    const digest = (n: string) => decodeOps(marshal(noticeGraph([n]))).at(-2)!.digest;
    expect(digest("a")).toBe(digest("a"));
    expect(digest("a")).not.toBe(digest("b"));
  });

  it("is empty without notices", () => {
    expect(marshal(noticeGraph([])).def).toEqual([]);
  });
});
