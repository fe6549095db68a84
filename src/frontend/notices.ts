// Information for the user that is not a problem (the environment's size summary, post-link
// scripts run as asked, .pyc not compiled for a foreign platform) goes to the progress output, not
// to BuildKit's warnings: buildx prints warnings in yellow with "N warnings found", and --call
// check reports them, so a clean build must have none. A frontend has no API to write a line of
// progress, so each notice is the name of a tiny vertex of its own, solved after the image: buildx
// shows its name (and DONE or CACHED) like any step's.
import type { Bridge } from "../gateway/bridge";
import { FileActions, marshal, State } from "../llb";

/** The notices as a chain of file ops on scratch, each named by one notice (one Solve shows them all). */
export function noticeGraph(notices: string[]): State {
  let state = State.scratch();
  for (const notice of notices) state = state.file(new FileActions().mkfile("/notice", notice, { mode: 0o444, timestamp: 0 }), { name: `[info] ${notice}` });
  return state;
}

export async function showNotices(bridge: Bridge, notices: string[]): Promise<void> {
  if (!notices.length) return;
  await bridge.solve(marshal(noticeGraph(notices), { caps: bridge.llbCaps }), { evaluate: true });
}
