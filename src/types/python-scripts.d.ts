// The Python programs of src/build-step/python, embedded as text by scripts/bundle.mjs (esbuild's
// `define`), so the bundle carries their bytes and reads no file for them. Undefined when running
// from the sources (tsx, vitest): their users then read the .py file itself.
declare const __CONDA_FRONTEND_PIP_STEP_PY__: string | undefined;
declare const __CONDA_FRONTEND_COMPILE_PYC_PY__: string | undefined;
declare const __CONDA_FRONTEND_FOREIGN_PIP_PY__: string | undefined;
