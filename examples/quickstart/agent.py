#!/usr/bin/env python3
"""A tiny stand-in for an AI agent (stdlib only).

It asks the model API ($MODEL_API) what to do, carries out each tool call, prints one line per call
— ALLOWED or BLOCKED, how long it took, and what the operating system said — and sends the results
back to the model. Inside an Airlock sandbox only the model API (through the egress gate) works;
everything else fails at once instead of hanging.
"""
import json
import os
import socket
import struct
import time
import urllib.request

MODEL_API = os.environ.get("MODEL_API", "http://model-api:8080")


def http_get(url, **_):
    url = url.replace("MODEL_API", MODEL_API)
    with urllib.request.urlopen(url, timeout=5) as r:
        return f"HTTP {r.status}, {len(r.read())} bytes"


def tcp_connect(host, port, **_):
    with socket.create_connection((host, port), timeout=5):
        return "connected"


def resolve(name, **_):
    return ", ".join(sorted({a[4][0] for a in socket.getaddrinfo(name, 443)}))


def dns_query(server, name, **_):
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(query, (server, 53))
        return f"{len(s.recv(512))}-byte answer"


def raw_socket(**_):
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    return "opened"


TOOLS = {"http_get": http_get, "tcp_connect": tcp_connect, "resolve": resolve, "dns_query": dns_query, "raw_socket": raw_socket}


def chat(messages):
    body = json.dumps({"model": "mock-1", "messages": messages}).encode()
    req = urllib.request.Request(f"{MODEL_API}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["choices"][0]["message"]


def main():
    messages = [{"role": "user", "content": "Look around and tell me what you can reach."}]
    print(f"agent: asking the model at {MODEL_API} what to do", flush=True)
    reply = chat(messages)
    messages.append(reply)
    allowed = blocked = 0
    for call in reply.get("tool_calls", []):
        args = json.loads(call["function"]["arguments"])
        why = args.pop("why", "")
        started = time.monotonic()
        try:
            detail, ok = TOOLS[call["function"]["name"]](**args), True
        except Exception as e:  # what the OS said is the point of the exercise
            detail, ok = f"{type(e).__name__}: {e}", False
        ms = (time.monotonic() - started) * 1000
        allowed, blocked = allowed + ok, blocked + (not ok)
        to = ":".join(str(args[k]) for k in ("host", "server", "port") if k in args)  # where it tried, if an address
        print(f"  {'ALLOWED' if ok else 'BLOCKED'}  {why:<42} {ms:7.1f} ms  {detail}{f'  [{to}]' if to else ''}", flush=True)
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"ok": ok, "detail": detail})})
    print(f"agent: model says: {chat(messages)['content']}", flush=True)
    print(f"agent: {allowed} allowed, {blocked} blocked", flush=True)
    time_model_calls()


def time_model_calls(seconds=14.0, every=0.5):
    """Times a model call every half second, so a chaos experiment's fault shows where it hits."""
    print(f"agent: timing a model call every {every}s for {seconds:.0f}s (ms):", flush=True)
    samples, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{MODEL_API}/v1/models", timeout=5) as r:
                r.read()
            samples.append(f"{(time.monotonic() - started) * 1000:.0f}")
        except Exception as e:
            samples.append(type(e).__name__)
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    print("  " + " ".join(samples), flush=True)


if __name__ == "__main__":
    main()
