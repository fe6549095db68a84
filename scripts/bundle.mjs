// Bundles the CLI (src/cli.ts and its dependencies) into one ESM file, dist/cli.mjs, for the
// frontend image. esbuild is the bundler tsx already runs on.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  legalComments: "linked",
  // CommonJS dependencies (grpc-js, protobufjs) call require() for Node's built-in modules.
  banner: { js: "import { createRequire as __cf_createRequire } from 'node:module'; const require = __cf_createRequire(import.meta.url);" },
  logLevel: "warning",
});
