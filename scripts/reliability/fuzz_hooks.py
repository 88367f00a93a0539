"""schemathesis hooks for fuzz.sh: make the fuzzer follow the two stateful
protocol rules that no schema can express, the way every real client must.

- Idempotency-Key: a client sends a fresh key per logical request. The fuzzer
  otherwise reuses its few generated keys ("0", "A", …) with different bodies,
  which the server rightly answers 422 idempotency_key_reused. A well-formed
  key (1–255 printable ASCII, so not itself the thing under test) is replaced
  by a fresh UUID; a malformed one, or a missing one, is left as generated.
- If-Match on PATCH /v1/pilots/{pilot_id}: a client sends the ETag it last
  read. The fuzzer otherwise sends the spec's example `"3"`, which is stale
  (412) for nearly every pilot. When the header is present and well formed (a
  quoted integer or `*`, as the spec's pattern says), it is set to the pilot's
  current ETag, read just before the call with the same token; a malformed
  value is left as generated (the 400 invalid_header path is still exercised)
  and a missing header stays missing (the 428 path is still exercised).

It also teaches the fuzzer to send the NDJSON media types POST /v1/import
declares (their schema is a plain string): without a serializer schemathesis
cannot send them and drops those examples (a `filter_too_much` health check).

No check is disabled or relaxed: every response is still validated by all
checks. The token and base URL come from FUZZ_TOKEN and FUZZ_BASE_URL, set by
fuzz.sh for each pass.
"""

import os
import re
import urllib.error
import urllib.request
import uuid

import schemathesis

WELL_FORMED_KEY = re.compile(r"^[!-~]{1,255}$")
# The spec's If-Match pattern (components.parameters.If-Match).
WELL_FORMED_IF_MATCH = re.compile(r'^[ \t]*(\*|"[+-]?[0-9]{1,18}")[ \t]*$')

for _media_type in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"):
    schemathesis.serializer.alias(_media_type, "text/plain")


def _current_etag(pilot_id: str) -> str | None:
    base = os.environ.get("FUZZ_BASE_URL")
    token = os.environ.get("FUZZ_TOKEN")
    if not base or not token or not re.fullmatch(r"[0-9a-fA-F-]{36}", pilot_id or ""):
        return None
    req = urllib.request.Request(f"{base}/v1/pilots/{pilot_id}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.headers.get("ETag")
    except (urllib.error.URLError, OSError):
        return None


def _header(headers: dict, name: str):
    for k in headers:
        if k.lower() == name.lower():
            return k
    return None


@schemathesis.hook
def before_call(context, case, **kwargs):
    headers = case.headers
    if not headers:
        return
    key_name = _header(headers, "Idempotency-Key")
    if key_name is not None and isinstance(headers[key_name], str) and WELL_FORMED_KEY.match(headers[key_name]):
        headers[key_name] = f"fuzz-{uuid.uuid4()}"
    if case.method.upper() == "PATCH" and case.operation.path == "/v1/pilots/{pilot_id}":
        match_name = _header(headers, "If-Match")
        if match_name is not None and isinstance(headers[match_name], str) and WELL_FORMED_IF_MATCH.match(headers[match_name]):
            etag = _current_etag(str((case.path_parameters or {}).get("pilot_id", "")))
            if etag:
                headers[match_name] = etag
