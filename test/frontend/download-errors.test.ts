// BuildKit's own words for a private download that failed (v0.21+ downloads with the secret),
// turned into what the user should do about the conda-auth secret.
import { describe, expect, it } from "vitest";
import { privateDownloadProblem } from "../../src/frontend/download-errors";

const channels = ["http://127.0.0.1:8769"];

describe("privateDownloadProblem", () => {
  it("explains an invalid Authorization value (a secret file ending in a newline)", () => {
    const msg = 'Get "http://127.0.0.1:8769/linux-64/x-1.0-h_0.conda": net/http: invalid header field value for "Authorization"';
    expect(privateDownloadProblem(msg, channels)).toMatch(/exactly as it is.*newline at its end.*--secret id=conda-auth,env=CONDA_AUTH/);
  });

  it("explains a missing secret", () => {
    expect(privateDownloadProblem("failed to retrieve HTTP auth secret conda-auth: secret conda-auth not found", channels)).toMatch(/did not get: pass it with --secret id=conda-auth/);
  });

  it("explains a 401 from a private channel, naming the URL, but not one from elsewhere", () => {
    const msg = (url: string) => `invalid response status 401 for ${url}`;
    expect(privateDownloadProblem(msg("http://127.0.0.1:8769/noarch/a-1-h_0.conda"), channels)).toMatch(/^http:\/\/127\.0\.0\.1:8769\/noarch\/a-1-h_0\.conda answered HTTP 401 .* not header lines$/);
    expect(privateDownloadProblem(msg("http://127.0.0.1:8765/noarch/a-1-h_0.conda"), channels)).toBeUndefined();
  });

  it("leaves other failures alone", () => {
    expect(privateDownloadProblem("process did not complete successfully: exit code: 1", channels)).toBeUndefined();
  });
});
