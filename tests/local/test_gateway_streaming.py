"""The local gateway relays the proxy's stream as it arrives, and to its end after the client left."""

from __future__ import annotations

import json
import time

from tests.support.auth_support import API_KEYS, proxy_log_records

from client import stream_invoke
from local.stack import LocalStack
from streaming_shared.jsonlog import session_hash

ALICE_KEY = next(iter(API_KEYS))


def test_events_pass_the_gateway_as_they_are_produced(apikey_stack: LocalStack) -> None:
    # The agent says nothing for 3 s after its start event: a buffering gateway would deliver
    # "start" together with the rest, after the pause.
    events = stream_invoke(apikey_stack.url, "[[pieces:3]] [[pause:3]]", api_key=ALICE_KEY)
    start = next(events)
    rest = list(events)
    assert start.name == "start"
    assert rest[-1].name == "done"
    assert rest[-1].received_at - start.received_at >= 2.0


def test_a_client_leaving_mid_stream_does_not_end_the_proxy_stream(apikey_stack: LocalStack) -> None:
    # Lambda keeps a streamed response running when the invoking client's connection breaks, and
    # Lambda Web Adapter's writes keep succeeding: the proxy never learns that its client left.
    session_id = f"leaver-{time.time_ns()}"
    events = stream_invoke(apikey_stack.url, "[[pieces:2]] [[pause:2]]", api_key=ALICE_KEY, session_id=session_id,
                           stop_on_close=False)
    assert next(events).name == "start"
    events.close()
    deadline = time.monotonic() + 20
    outcomes: list[str] = []
    while time.monotonic() < deadline and not outcomes:
        outcomes = [
            r["outcome"]
            for r in proxy_log_records(apikey_stack)
            if r.get("sessionHash") == session_hash(session_id) and r.get("message") == "stream finished"
        ]
        time.sleep(0.1)
    # The whole answer went out after the pause, as if the client had stayed.
    assert outcomes == ["done"]
    relayed = [json.loads(line) for line in apikey_stack.logs("gateway") if "request relayed" in line]
    assert "client_disconnected" in [line["outcome"] for line in relayed]


def test_gateway_passes_its_request_id_to_the_proxy(apikey_stack: LocalStack) -> None:
    events = list(stream_invoke(apikey_stack.url, "ids", api_key=ALICE_KEY))
    request_id = events[0].data["requestId"]
    # The gateway writes its line once the relay has closed, just after the client saw "done".
    deadline = time.monotonic() + 10
    gateway_ids: list[str] = []
    while request_id not in gateway_ids and time.monotonic() < deadline:
        gateway_ids = [
            json.loads(line)["requestId"]
            for line in apikey_stack.logs("gateway")
            if line.startswith("{") and "request relayed" in line
        ]
        time.sleep(0.05)
    assert request_id in gateway_ids
