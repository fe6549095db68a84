import os
import subprocess
import sys

import greetpy

print(f"Hello from Python {sys.version.split()[0]} in {sys.prefix}, running as uid {os.getuid()}")
print(f"greetpy {greetpy.__version__} is at {greetpy.__file__}")
print(f"HELLO_FROM={os.environ.get('HELLO_FROM')}")
print(subprocess.run(["greet"], capture_output=True, text=True).stdout.splitlines()[-1])
