// Bundles the CLI (src/cli.ts and its dependencies) into one ESM file, dist/cli.mjs, for the
// frontend image. esbuild is the bundler tsx already runs on. The .proto files are parsed here
// and embedded as JSON, so the image needs no proto/ folder and start-up skips the parser.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import protobuf from "protobufjs";

const files = ["buildkit/ops.proto", "buildkit/types.proto", "buildkit/gateway.proto", "google/status.proto"];
const root = new protobuf.Root();
for (const f of files) protobuf.parse(readFileSync(new URL(`../proto/${f}`, import.meta.url), "utf8"), root, { keepCase: true });
root.resolveAll();

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  legalComments: "linked",
  define: { __CONDA_FRONTEND_PROTO__: JSON.stringify(root.toJSON()) },
  // rattler's "import" build inlines its 3 MB WebAssembly as text; its Node build reads the file
  // (copied beside the bundle below) only when the solver runs.
  alias: { "@conda-org/rattler": "./node_modules/@conda-org/rattler/dist/rattler.node.cjs" },
  // CommonJS dependencies (protobufjs, yaml) call require() for Node's built-in modules, and
  // rattler finds its WASM file through __dirname: give the ESM bundle both.
  banner: {
    js: [
      "import { createRequire as __cf_createRequire } from 'node:module';",
      "import { dirname as __cf_dirname } from 'node:path';",
      "import { fileURLToPath as __cf_fileURLToPath } from 'node:url';",
      "const require = __cf_createRequire(import.meta.url);",
      "const __dirname = __cf_dirname(__cf_fileURLToPath(import.meta.url));",
    ].join(" "),
  },
  logLevel: "warning",
});

// The solver's WebAssembly, loaded from beside the bundle only by the `solve` command.
const rattlerDir = dirname(createRequire(import.meta.url).resolve("@conda-org/rattler"));
mkdirSync("dist", { recursive: true });
copyFileSync(join(rattlerDir, "js_rattler_bg.wasm"), "dist/js_rattler_bg.wasm");
