// Failures of BuildKit's own downloads of private packages (source.http.auth, BuildKit v0.21+),
// told in the user's terms: BuildKit sends the conda-auth secret as the Authorization header
// exactly as it is, so a newline at its end, a missing secret or header lines instead of a value
// each fail in a way BuildKit words for itself.
import { authSecretId } from "../conda/auth";
import { SpecError } from "../input/errors";
import { RpcError } from "../gateway/transport";
import type { BuildPlan } from "../plan/plan";
import type { InputFile } from "./inputs";

const howToPass = `--secret id=${authSecretId},env=CONDA_AUTH with CONDA_AUTH="Bearer <token>"`;

/** What went wrong with the secret, if the failure is one of a private download; else undefined. */
export function privateDownloadProblem(message: string, privateChannels: readonly string[]): string | undefined {
  if (/invalid header field value for "?Authorization"?/i.test(message)) {
    return `the ${authSecretId} secret is sent as the Authorization header exactly as it is, and this one is not a valid header value (a newline at its end?): pass it with ${howToPass}, or a file written without a final newline (printf '%s')`;
  }
  if (new RegExp(`failed to retrieve HTTP auth secret ${authSecretId}`).test(message)) {
    return `the packages of image.private-channels are downloaded with the ${authSecretId} secret, which this build did not get: pass it with ${howToPass}`;
  }
  const refused = /invalid response status (401|403)/.exec(message);
  const url = /https?:\/\/[^\s"]+/.exec(message)?.[0];
  if (refused && url && privateChannels.some((c) => url.startsWith(c))) {
    return `${url} answered HTTP ${refused[1]} to the ${authSecretId} secret: BuildKit sends it as the Authorization header's value, so it must hold that value (such as "Bearer <token>"), not header lines`;
  }
  return undefined;
}

/** `e` as an error at image.private-channels when it is a private download's, else `e` itself. */
export function explainDownloadFailure(e: unknown, plan: BuildPlan, input: InputFile): unknown {
  if (!(e instanceof RpcError) || !plan.conda.privateChannels.length) return e;
  const problem = privateDownloadProblem(e.message, plan.conda.privateChannels);
  return problem ? new SpecError(input, [{ message: problem, range: plan.conda.privateChannelsRange }]) : e;
}
