// The one executable of the project. Without arguments (how BuildKit starts a frontend image) it
// is the gateway frontend; subcommands are the tools that run inside build steps.
import { startupSnapshot } from "node:v8";
import { runFrontend } from "./frontend/build";
import { warmUp } from "./frontend/warm-up";
import { prepareCodecs } from "./proto/codec";

const usage = `usage: conda-frontend [frontend | solve <request.json> <out-dir> | install <request.json> | install --group <request.json | $VARIABLE> | fetch <request.json> | sbom <request.json> <out file> <report folder>...]
  frontend   run as a BuildKit gateway frontend over stdin/stdout (the default)
  solve      solve a request written by the frontend into <out-dir>/conda-lock.yml (a build step)
  install    link one package into a prefix under an output folder; --group: download and
             install several packages into one layer (the frontend's install steps)
  fetch      download and verify one package (with the conda-auth secret for a private channel)
  sbom       write the image's SPDX document from a request and the steps' report folders (a build step)`;

async function main(argv: string[]): Promise<number> {
  const [command = "frontend", ...rest] = argv;
  switch (command) {
    case "frontend":
      return runFrontend();
    case "solve": {
      const [request, out] = rest;
      if (!request || !out) break;
      // Loaded only here: the solver's WASM is not needed to run the frontend itself.
      const { runSolve } = await import("./build-step/solve");
      return runSolve(request, out);
    }
    case "install": {
      const [request, file] = rest;
      if (!request || (request === "--group" && !file)) break;
      const { runInstall, runInstallGroup } = await import("./build-step/install/install");
      return request === "--group" ? runInstallGroup(file!) : runInstall(request);
    }
    case "fetch": {
      const [request] = rest;
      if (!request) break;
      const { runFetch } = await import("./build-step/fetch");
      return runFetch(request);
    }
    case "sbom": {
      const [request, out, ...reports] = rest;
      if (!request || !out) break;
      const { runSbom } = await import("./build-step/sbom");
      return runSbom(request, out, reports);
    }
    case "help":
    case "--help":
    case "-h":
      process.stderr.write(usage + "\n");
      return 0;
    default:
      process.stderr.write(`conda-frontend: unknown command ${JSON.stringify(command)}\n`);
  }
  process.stderr.write(usage + "\n");
  return 2;
}

function start(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`conda-frontend: ${e.stack ?? e}\n`);
      process.exit(1);
    },
  );
}

if (startupSnapshot.isBuildingSnapshot()) {
  // The frontend image runs this bundle from a V8 startup snapshot taken at image build time
  // (frontend.Dockerfile): loading and compiling the bundle and building the protobuf codecs are
  // done once there, not at the start of every build; so is a build's pure part, compiled by
  // running it on a sample. Such a process has no script path in its arguments: [node, ...args].
  prepareCodecs();
  warmUp();
  startupSnapshot.setDeserializeMainFunction(() => start(process.argv.slice(1)));
} else {
  start(process.argv.slice(2));
}
