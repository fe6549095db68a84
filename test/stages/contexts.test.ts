// Named contexts and the base as LLB sources: a client folder, a registry image, an OCI layout
// image served from the client's session.
import { describe, expect, it } from "vitest";
import { marshal } from "../../src/llb";
import type { NamedContext } from "../../src/plan/contexts";
import { namedContextState } from "../../src/stages/contexts";
import { baseProbe, baseState } from "../../src/stages/image";
import { plan as planOf } from "../plan/helpers";
import { decodeOps } from "../llb/helpers";

const platform = { OS: "linux", Architecture: "amd64" };
const digest = "sha256:" + "c".repeat(64);
const pinned = "sha256:" + "d".repeat(64);

/** The one source op of a state, as sent. */
function source(state: Parameters<typeof marshal>[0]) {
  const op = decodeOps(marshal(state)).find((o) => o.op.source)!;
  return { identifier: op.op.source!.identifier, attrs: Object.fromEntries((op.op.source!.attrs ?? []).map((a) => [a.key, a.value])) };
}

describe("namedContextState", () => {
  const opts = { platform, sessionId: "s1", include: ["static"] };

  it("sends only the named paths of a folder, in the build's session unless buildx named another", () => {
    expect(source(namedContextState("assets", { kind: "local", local: "assets" }, opts))).toEqual({
      identifier: "local://assets",
      attrs: { "local.session": "s1", "local.includepattern": '["static"]', "local.sharedkeyhint": "context:assets" },
    });
    expect(source(namedContextState("assets", { kind: "local", local: "assets", sessionId: "s2" }, opts)).attrs["local.session"]).toBe("s2");
  });

  it("reads an image from a registry, or from the client's OCI layout store", () => {
    expect(source(namedContextState("x", { kind: "image", ref: "localhost:5000/x:1" }, opts)).identifier).toBe("docker-image://localhost:5000/x:1");
    const oci: NamedContext = { kind: "oci-layout", store: "st0re", digest, ref: `docker.io/library/x@${digest}` };
    expect(source(namedContextState("x", oci, opts))).toEqual({ identifier: `oci-layout://docker.io/library/x@${digest}`, attrs: { "oci.session": "s1", "oci.store": "st0re" } });
  });
});

describe("baseState", () => {
  const daemon = { stack: "merge" as const };
  const context = { sessionId: "s1" };
  const p = { platform, base: { digest: pinned } };

  it("pins a registry base by the resolved digest", () => {
    const build = planOf("name: x\n", "context:base=docker-image://localhost:5000/b:1");
    expect(source(baseState({ build, daemon, context }, p))).toEqual({ identifier: `docker-image://localhost:5000/b:1@${pinned}`, attrs: {} });
  });

  it("takes an OCI layout base from the client's store, pinned by the platform's manifest digest, for the image and the frontend's look into it", () => {
    const build = planOf("name: x\n", `context:base=oci-layout://st0re:latest@${digest}`);
    const attrs = { "oci.session": "s1", "oci.store": "st0re" };
    expect(source(baseState({ build, daemon, context }, p))).toEqual({ identifier: `oci-layout://docker.io/library/base@${pinned}`, attrs });
    // The frontend's look is a vertex of its own (see baseProbe), as for a registry base.
    expect(source(baseProbe({ build, daemon, context }, p))).toEqual({ identifier: `oci-layout://docker.io/library/base@${pinned}`, attrs: { ...attrs, "image.recordtype": "internal" } });
  });
});
