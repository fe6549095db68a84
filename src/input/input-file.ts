// Which file in the `dockerfile` local is the environment. `docker buildx build -f env.yml`
// sends filename=env.yml; without -f (and with `-f -`, where buildx names the piped text
// Dockerfile) it sends "Dockerfile", and we look for conda's usual names first.

export const conventionalNames = ["environment.yml", "environment.yaml"];

/** Names to transfer from the file's folder: candidates and their .dockerignore files. */
export function inputCandidates(filename: string): string[] {
  const names = filename === "Dockerfile" ? [...conventionalNames, "Dockerfile"] : [filename];
  return names;
}

export function chooseInput(filename: string, present: ReadonlySet<string>): string | undefined {
  return inputCandidates(filename).find((n) => present.has(n));
}

export function missingInputMessage(filename: string): string {
  if (filename === "Dockerfile") {
    return "no environment.yml, environment.yaml or Dockerfile in the build's file folder; pass the file with -f, e.g. docker buildx build -f environment.yml .";
  }
  return `cannot find ${JSON.stringify(filename)} in the build's file folder`;
}
