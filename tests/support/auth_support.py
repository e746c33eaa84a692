"""Credentials and log helpers shared by the auth tests (imported by auth_stacks.py and the tests)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from local.stack import LocalStack

# Two API keys with their own key ids: two distinct callers in apiKey mode.
API_KEYS = {"local-key-alice-0123456789": "key-id-alice", "local-key-bob-0123456789": "key-id-bob"}
IAM_CREDENTIALS = {"AKIALOCALALICE000001": "alice-secret-access-key-for-tests"}
JWT_SECRET = "jwt-secret-for-tests-only-0123456789"



def standin_invocations(stack: LocalStack) -> list[dict[str, Any]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via HTTP_PROXY
    with opener.open(f"{stack.standin_url}/_standin/events", timeout=10) as response:
        events = json.loads(response.read())
    return [event for event in events if event["kind"] == "invocation"]


def proxy_log_records(stack: LocalStack) -> list[dict[str, Any]]:
    return stack.log_records("proxy")
