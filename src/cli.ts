// The one executable of the project. Without arguments (how BuildKit starts a frontend image) it
// is the gateway frontend; subcommands are the tools that run inside build steps.
import { runFrontend } from "./frontend";

const usage = `usage: conda-frontend [frontend]
  frontend   run as a BuildKit gateway frontend over stdin/stdout (the default)`;

async function main(argv: string[]): Promise<number> {
  const [command = "frontend", ...rest] = argv;
  switch (command) {
    case "frontend":
      return runFrontend();
    case "help":
    case "--help":
    case "-h":
      process.stderr.write(usage + "\n");
      return 0;
    default:
      process.stderr.write(`conda-frontend: unknown command ${JSON.stringify(command)} ${rest.length ? "" : ""}\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`conda-frontend: ${e.stack ?? e}\n`);
    process.exit(1);
  },
);
