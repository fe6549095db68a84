// Bundles the CLI (src/cli.ts and its dependencies) into one ESM file, dist/cli.mjs, for the
// frontend image. esbuild is the bundler tsx already runs on. The .proto files are parsed here
// and embedded as JSON, so the image needs no proto/ folder and start-up skips the parser.
import { readFileSync } from "node:fs";
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
  // CommonJS dependencies (grpc-js, protobufjs) call require() for Node's built-in modules.
  banner: { js: "import { createRequire as __cf_createRequire } from 'node:module'; const require = __cf_createRequire(import.meta.url);" },
  logLevel: "warning",
});
