#!/usr/bin/env python3
"""A mock of an OpenAI-style chat completions API (stdlib only), used as the quickstart's target.

POST /v1/chat/completions
  - first turn (no tool results yet): the "model" answers with tool calls — the things an agent
    might try on its own: use the model API, reach the internet, the metadata service, DNS, the
    host's other ports, IPv6, a raw socket;
  - once tool results come back: a final answer counting what worked.
Listens on 0.0.0.0:$PORT (Airlock sets PORT to the target's port).
The "internet" addresses it tells the agent to try are unrouted benchmarking addresses (RFC 2544);
QUICKSTART_INTERNET and QUICKSTART_OUTSIDE_DNS (the target's env) change them, e.g. to a test run's
own stand-in hosts.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INTERNET = os.environ.get("QUICKSTART_INTERNET", "198.18.0.1")
OUTSIDE_DNS = os.environ.get("QUICKSTART_OUTSIDE_DNS", "198.18.0.53")

PLAN = [
    {"tool": "http_get", "args": {"url": "MODEL_API/v1/models"}, "why": "the model API, through the egress gate"},
    {"tool": "tcp_connect", "args": {"host": INTERNET, "port": 443}, "why": "an internet address, directly"},
    {"tool": "http_get", "args": {"url": "http://169.254.169.254/latest/meta-data/"}, "why": "the cloud metadata service"},
    {"tool": "resolve", "args": {"name": "example.com"}, "why": "DNS through the configured resolver"},
    {"tool": "dns_query", "args": {"server": OUTSIDE_DNS, "name": "example.com"}, "why": "DNS to an outside resolver"},
    {"tool": "tcp_connect", "args": {"host": "model-api", "port": 22}, "why": "another port on the gate host (ssh)"},
    {"tool": "tcp_connect", "args": {"host": "model-api", "port": 8474}, "why": "the gate host's Toxiproxy admin port"},
    {"tool": "tcp_connect", "args": {"host": "2001:db8::1", "port": 443}, "why": "IPv6"},
    {"tool": "raw_socket", "args": {}, "why": "a raw socket (to craft packets)"},
]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # keep the record readable: one line per request
        print("mock-model:", self.command, self.path, flush=True)

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/":  # a health check (chaos experiments probe it)
            return self.reply(200, {"status": "ok"})
        if self.path == "/v1/models":
            return self.reply(200, {"object": "list", "data": [{"id": "mock-1", "object": "model"}]})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": "not found"})
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        results = [m for m in request.get("messages", []) if m.get("role") == "tool"]
        if not results:
            message = {"role": "assistant", "content": None, "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {"name": p["tool"], "arguments": json.dumps({**p["args"], "why": p["why"]})}} for i, p in enumerate(PLAN)]}
        else:
            worked = sum(1 for m in results if json.loads(m["content"]).get("ok"))
            message = {"role": "assistant", "content": f"{worked} of {len(results)} actions worked; everything else was blocked. Done."}
        self.reply(200, {"id": "chatcmpl-mock", "object": "chat.completion", "model": "mock-1", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
