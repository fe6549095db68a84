# Byte-compiles a package's .py files in its install step (src/build-step/install/install.ts,
# compilePyc). The installer runs it with the environment's python, from where that python's files
# are in the step, one process per CPU for a big package:
#
#   <python> -E -s -c <this file's text> <list file> <root>
#
# The text is in the installer itself (scripts/bundle.mjs embeds it), so it is part of the step's
# cache key through the frontend image. The list file holds the absolute paths of the sources, one
# a line (UTF-8); <root> is the step's output folder, stripped from each path so that the code
# objects name their sources where the image has them (/<prefix>/lib/...).
#
# For each file it does what `python -m compileall --invalidation-mode unchecked-hash` does
# through py_compile (the same .pyc bytes: __pycache__/<name>.<cache tag>.pyc, hash-based and
# unchecked, so valid whatever the layers' file times become, never rewritten at run time, and
# the same source always gives the same bytes), with only the import machinery every python has
# loaded at start-up: compileall and py_compile import ~30 modules first, 40 of a small package
# step's ~80 ms in python.
#
# Any CPython 3 may run it: standard library only. Exit 0: every file compiled; 1: some did not
# (a syntax error, python 2 leftovers: skipped, as conda does); 3: this python lacks the
# importlib internals used here (they came with 3.7), and the installer runs compileall instead.
# Tests: test/build-step/python/test_compile_pyc.py.
import os, sys, _imp
try:
    import _frozen_importlib_external as b
    magic, to_pyc, cache_of, mode_of, write = b._RAW_MAGIC_NUMBER, b._code_to_hash_pyc, b.cache_from_source, b._calc_mode, b._write_atomic
except (ImportError, AttributeError):
    sys.exit(3)
failed = 0
root = sys.argv[2]
for path in open(sys.argv[1], encoding="utf-8").read().splitlines():
    try:
        with open(path, "rb") as f:
            data = f.read()
        code = compile(data, "/" + path[len(root):].lstrip("/"), "exec", dont_inherit=True)
        pyc = cache_of(path)
        os.makedirs(os.path.dirname(pyc), exist_ok=True)
        write(pyc, to_pyc(code, _imp.source_hash(magic, data), False), mode_of(path))
    except Exception:
        failed = 1
sys.exit(failed)
