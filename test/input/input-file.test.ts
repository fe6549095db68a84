import { describe, expect, it } from "vitest";
import { chooseInput, inputCandidates, missingInputMessage } from "../../src/input/input-file";

describe("choosing the input file", () => {
  it("looks for conda's names first when the file is called Dockerfile", () => {
    expect(inputCandidates("Dockerfile")).toEqual(["environment.yml", "environment.yaml", "Dockerfile"]);
    expect(chooseInput("Dockerfile", new Set(["Dockerfile", "environment.yaml", "environment.yml"]))).toBe("environment.yml");
    expect(chooseInput("Dockerfile", new Set(["Dockerfile", "environment.yaml"]))).toBe("environment.yaml");
    expect(chooseInput("Dockerfile", new Set(["Dockerfile"]))).toBe("Dockerfile");
    expect(chooseInput("Dockerfile", new Set(["env.yml"]))).toBeUndefined();
  });

  it("takes exactly the name given with -f", () => {
    expect(inputCandidates("env/prod.yml")).toEqual(["env/prod.yml"]);
    expect(chooseInput("prod.yml", new Set(["prod.yml", "environment.yml"]))).toBe("prod.yml");
    expect(chooseInput("prod.yml", new Set(["environment.yml"]))).toBeUndefined();
  });

  it("explains what is missing", () => {
    expect(missingInputMessage("Dockerfile")).toMatch(/^no environment\.yml, environment\.yaml or Dockerfile/);
    expect(missingInputMessage("prod.yml")).toBe('cannot find "prod.yml" in the build\'s file folder');
  });
});
