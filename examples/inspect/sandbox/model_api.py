#!/usr/bin/env python3
"""A stand-in for a model API inside the sandbox's boundary (stdlib only): GET /v1/models.

Runs as the spec's target `model-api`, behind Airlock's egress gate; the agent in the sandbox reaches
it as http://model-api:8080. Listens on 0.0.0.0:$PORT.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # one line per request in the sandbox's record
        print("model-api:", self.command, self.path, flush=True)

    def do_GET(self):
        if self.path == "/v1/models":
            body, status = {"object": "list", "data": [{"id": "airlock-demo-model", "object": "model"}]}, 200
        else:
            body, status = {"error": "not found"}, 404
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
