"""A small HTTP service on Python's standard library: GET / greets, GET /health answers ok."""
import http.server
import json
import os
import signal
import subprocess
import sys

import greetwheel


def greeting() -> dict:
    # The conda package's C program, found on PATH (the image sets PATH to the environment's bin).
    program = subprocess.run(["greet"], capture_output=True, text=True, check=True).stdout.strip()
    return {"wheel": greetwheel.hello(), "program": program, "uid": os.getuid()}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            body = b"ok\n"
        elif self.path == "/":
            body = (json.dumps(greeting()) + "\n").encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    # PID 1 ignores SIGTERM unless it handles it: `docker stop` would wait for its timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8000"))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
