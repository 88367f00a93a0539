#!/usr/bin/env python3
"""Summarises a schemathesis NDJSON report: requests sent per operation with
the status codes answered, and every failed check with its request and response.

    fuzz_report.py REPORT.ndjson [--failures] [--status CODE] [--op 'GET /v1/x']
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import sys


def decode(body) -> str:
    if body is None:
        return ""
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(body["$base64"]).decode("utf-8", "replace")
    if isinstance(body, dict) and "string" in body:
        return body["string"]
    return str(body)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--failures", action="store_true", help="print each failed check with request and response")
    ap.add_argument("--status", type=int, help="print the requests answered with this status")
    ap.add_argument("--op", help="only this operation, e.g. 'GET /v1/orgs'")
    args = ap.parse_args()

    per_op: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failed: dict[tuple[str, str], list] = collections.defaultdict(list)
    total = 0
    with open(args.report) as f:
        for line in f:
            event = json.loads(line)
            fin = event.get("ScenarioFinished")
            if not fin:
                continue
            rec = fin["recorder"]
            label = rec["label"]
            if args.op and label != args.op:
                continue
            for case_id, inter in rec.get("interactions", {}).items():
                resp = inter.get("response") or {}
                status = resp.get("status_code", "no response")
                per_op[label][status] += 1
                total += 1
                if args.status is not None and status == args.status:
                    req = inter["request"]
                    print(f"{args.status} {req['method']} {req['uri']} headers={req.get('headers')} "
                          f"body={decode(req.get('body'))[:300]!r} → {decode(resp.get('content'))[:300]}")
            for case_id, checks in rec.get("checks", {}).items():
                for chk in checks:
                    if chk.get("status") == "failure":
                        inter = rec.get("interactions", {}).get(case_id)
                        key = (label, chk["name"])
                        if inter and inter.get("response"):
                            resp = inter["response"]
                            try:
                                problem = json.loads(decode(resp.get("content")))
                                detail = f'{problem.get("code")} {problem.get("field") or ""}'.strip()
                            except (ValueError, AttributeError):
                                detail = ""
                            key = (label, chk["name"], resp.get("status_code"), detail)
                        failed[key].append((case_id, chk, inter))
    for label in sorted(per_op):
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(per_op[label].items(), key=lambda kv: str(kv[0])))
        print(f"{sum(per_op[label].values()):6d}  {label}: {codes}")
    print(f"{total} requests recorded over {len(per_op)} operations")
    if args.failures:
        for key, items in sorted(failed.items(), key=lambda kv: tuple(map(str, kv[0]))):
            print(f"\n=== {' — '.join(map(str, key))}: {len(items)} failing case(s)")
            for case_id, chk, inter in items[:3]:
                print(f"  case {case_id}: {json.dumps({k: v for k, v in chk.items() if k not in ('name', 'status')})[:600]}")
                if inter:
                    req, resp = inter["request"], inter.get("response") or {}
                    print(f"    request: {req['method']} {req['uri']} headers={req.get('headers')} "
                          f"body={decode(req.get('body'))[:400]!r}")
                    print(f"    response: {resp.get('status_code')} {resp.get('headers')} "
                          f"{decode(resp.get('content'))[:400]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
