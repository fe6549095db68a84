// Bundles the CLI (src/cli.ts and its dependencies) into one CommonJS file, dist/cli.cjs, for the
// frontend image, which runs it from a V8 startup snapshot (`node --build-snapshot` takes one
// script, not ES modules). esbuild is the bundler tsx already runs on. The .proto files are parsed here
// and embedded as JSON, so the image needs no proto/ folder and start-up skips the parser. The Python
// programs of src/build-step/python are embedded as text (src/types/python-scripts.d.ts): the build
// steps get their bytes from the frontend, and the image needs no .py file.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import protobuf from "protobufjs";

const files = ["buildkit/ops.proto", "buildkit/types.proto", "buildkit/gateway.proto", "google/status.proto"];
const root = new protobuf.Root();
for (const f of files) protobuf.parse(readFileSync(new URL(`../proto/${f}`, import.meta.url), "utf8"), root, { keepCase: true });
root.resolveAll();

const python = (name) => JSON.stringify(readFileSync(new URL(`../src/build-step/python/${name}`, import.meta.url), "utf8"));

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  minify: true,
  legalComments: "linked",
  // rattler's "import" build inlines its 3 MB WebAssembly as text; its Node build reads the file
  // (copied beside the bundle below) only when the solver runs.
  alias: { "@conda-org/rattler": "./node_modules/@conda-org/rattler/dist/rattler.node.cjs" },
  // Only the sources (never the bundle) find proto/ through import.meta.url.
  define: {
    __CONDA_FRONTEND_PROTO__: JSON.stringify(root.toJSON()),
    __CONDA_FRONTEND_PIP_STEP_PY__: python("pip_step.py"),
    __CONDA_FRONTEND_FOREIGN_PIP_PY__: python("foreign_pip.py"),
    __CONDA_FRONTEND_COMPILE_PYC_PY__: python("compile_pyc.py"),
    "import.meta.url": "__cf_module_url",
  },
  banner: { js: "var __cf_module_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: "warning",
});

// Only the sources read the .py files; in the bundle the embedded text must have replaced every read.
if (/\.py["'`],\s*__cf_module_url/.test(readFileSync("dist/cli.cjs", "utf8"))) throw new Error("dist/cli.cjs reads a .py file beside it: embed the program with define");

// The solver's WebAssembly, loaded from beside the bundle only by the `solve` command.
const rattlerDir = dirname(createRequire(import.meta.url).resolve("@conda-org/rattler"));
mkdirSync("dist", { recursive: true });
copyFileSync(join(rattlerDir, "js_rattler_bg.wasm"), "dist/js_rattler_bg.wasm");
