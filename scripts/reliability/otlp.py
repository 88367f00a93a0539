#!/usr/bin/env python3
"""Traces reach a real OTLP receiver, continue the caller's trace, and say nothing private.

    otlp.py        # needs the opentelemetry-proto package (installed by .ci/run in a venv)

Starts an OTLP/HTTP receiver on a free port (a plain HTTP server that parses
every POST to /v1/traces into `ExportTraceServiceRequest` with the
`opentelemetry-proto` package, so a body that is not valid OTLP fails the
run), then a server on SQLite with OTEL_EXPORTER_OTLP_ENDPOINT pointing at it,
and checks:
  1. a request sent with a W3C `traceparent` gives a server span named
     `request` in the caller's trace, child of the caller's span, with the
     route, the status and the request id the answer carried (X-Request-Id);
  2. its database work is a `db.work` span, child of that request span;
  3. an entry create gives a `group_commit.batch` span;
  4. no exported attribute holds the token, the organisation's name or id,
     or the amount written;
  5. a server started without the variable exports nothing.
Exits non-zero on any failure.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import sys
import threading
import time
import uuid

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from _common import ORG_BODY, PILOT_BODY, Env, Server, free_port, json_call, log, request

received: list[ExportTraceServiceRequest] = []
raw_bodies: list[str] = []


def ids_as_bytes(doc):
    """OTLP/JSON writes trace and span ids in hex, where protobuf's JSON
    mapping expects base64 (the OTLP spec tells receivers to convert)."""
    if isinstance(doc, dict):
        return {k: (base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId", "parentSpanId") else
                    ids_as_bytes(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [ids_as_bytes(x) for x in doc]
    return doc


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        ok = self.path == "/v1/traces" and self.headers.get("Content-Type") == "application/json"
        if ok:
            raw_bodies.append(body)
            msg = ExportTraceServiceRequest()
            json_format.Parse(json.dumps(ids_as_bytes(json.loads(body))), msg)  # raises on anything not OTLP
            received.append(msg)
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def spans():
    out = []
    for msg in received:
        for rs in msg.resource_spans:
            service = [a.value.string_value for a in rs.resource.attributes if a.key == "service.name"]
            for ss in rs.scope_spans:
                for s in ss.spans:
                    attrs = {a.key: (a.value.string_value or a.value.int_value) for a in s.attributes}
                    out.append((service, s, attrs))
    return out


def main() -> int:
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    failures = []

    def check(cond: bool, what: str) -> None:
        log(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    env = Env(None)
    env.cli("migrate")
    server = Server(env, free_port(), "otlp")
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ["OTEL_SERVICE_NAME"] = "pilotledger-otlp-test"
    server.start()
    try:
        op = env.mint("operator")
        _, _, org = json_call("POST", server.base + "/v1/orgs", dict(ORG_BODY, name="Secret Name AG"), op, expect=(201,))
        member = env.mint("member", org["id"])
        _, _, pilot = json_call("POST", server.base + "/v1/pilots", dict(PILOT_BODY, name="p"), member, expect=(201,))
        status, _, _ = request(
            "POST", f"{server.base}/v1/pilots/{pilot['id']}/spend",
            {"category": "licences", "period_start": "2026-01-01", "period_end": "2026-01-31",
             "amount": "4242.17", "currency": "USD"},
            member, {"Idempotency-Key": str(uuid.uuid4())})
        check(status == 201, "a spend entry is written")
        trace_id = uuid.uuid4().hex
        parent = uuid.uuid4().hex[:16]
        status, headers, _ = request("GET", f"{server.base}/v1/pilots/{pilot['id']}", None, member,
                                     {"traceparent": f"00-{trace_id}-{parent}-01"})
        check(status == 200, "the traced request answers")
        request_id = headers.get("x-request-id", "")
        deadline = time.monotonic() + 10
        mine = []
        while time.monotonic() < deadline:
            mine = [(svc, s, a) for svc, s, a in spans() if s.trace_id.hex() == trace_id]
            if any(s.name == "db.work" for _, s, _ in mine) and any(s.name == "request" for _, s, _ in mine):
                break
            time.sleep(0.2)
        req = [(svc, s, a) for svc, s, a in mine if s.name == "request"]
        check(len(req) == 1, f"one request span in the caller's trace ({len(req)})")
        if req:
            svc, s, a = req[0]
            check(svc == ["pilotledger-otlp-test"], f"service.name is OTEL_SERVICE_NAME ({svc})")
            check(s.parent_span_id.hex() == parent, "the request span is the caller's span's child")
            check(s.kind == 2, "the request span is a server span")
            check(a.get("pilotledger.request_id") == request_id, "it carries the answer's X-Request-Id")
            check(a.get("http.route") == "/v1/pilots/{pilot_id}", f"it carries the route ({a.get('http.route')})")
            check(a.get("http.response.status_code") == 200, f"it carries the status ({a.get('http.response.status_code')})")
            db = [x for _, x, _ in mine if x.name == "db.work"]
            check(bool(db) and all(x.parent_span_id == s.span_id for x in db),
                  "its database work is a db.work span, its child")
        check(any(s.name == "group_commit.batch" for _, s, _ in spans()), "the entry create's batch is a span")
        spend_req = [s for _, s, a in spans() if s.name == "request" and a.get("http.route") == "/v1/pilots/{pilot_id}/spend"]
        waits = [s for _, s, _ in spans() if s.name == "group_commit.entry"]
        check(bool(spend_req) and any(w.parent_span_id == spend_req[0].span_id for w in waits),
              "the entry create's wait for its batch is a group_commit.entry span, the request's child")
        text = "\n".join(raw_bodies)
        for secret, what in ((member, "the token"), ("Secret Name AG", "the organisation's name"),
                             (org["id"], "the organisation's id"), ("4242", "the amount")):
            check(secret not in text, f"no span holds {what}")
    finally:
        server.stop()

    # Without the variable: nothing.
    del os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    count = len(raw_bodies)
    quiet = Server(env, free_port(), "otlp-off")
    quiet.start()
    try:
        for _ in range(5):
            request("GET", quiet.base + "/healthz", None, None, {"traceparent": f"00-{uuid.uuid4().hex}-{'1' * 16}-01"})
        time.sleep(1.5)
    finally:
        quiet.stop()
    check(len(raw_bodies) == count, "a server without OTEL_EXPORTER_OTLP_ENDPOINT exports nothing")
    httpd.shutdown()
    print(f"otlp: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
