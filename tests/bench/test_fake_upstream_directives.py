"""bench/fake_upstream.py reads the offline model's directives with the offline model's own parser."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
from offline_model.model import plan_reply

from bench.fake_stack import fake_upstream

# Ways of writing the directives the fake honours: each must mean to the fake what it means to the
# offline model (as many pieces, as many bytes), whitespace and repeats included.
PROMPTS = (
    "[[pieces:3]]",
    "[[pieces: 4 ]] hello",
    "[[pieces:0]]",
    "[[pieces:2]] then [[pieces:5]]",
    "[[bytes:2500]] [[piece-size:1000]]",
    "[[bytes: 7 ]]",
    "[[piece-size:3]] [[bytes:10]]",
    "[[pause:0.01]] [[pieces:2]] [[markdown-is-not-a-directive]]",
    '[[tool:current_time {"timezone": "UTC"}]] [[pieces:1]]',
)


def invoke(url: str, prompt: str) -> tuple[int, bytes]:
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("POST", "/runtimes/x/invocations", body=json.dumps({"prompt": prompt}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def deltas(body: bytes) -> list[str]:
    events = [json.loads(line[len(b"data: "):]) for line in body.split(b"\n") if line.startswith(b"data: ")]
    return [event["text"] for event in events if event["type"] == "delta"]


@pytest.fixture(scope="module")
def upstream_url() -> str:
    with fake_upstream() as url:
        yield url


@pytest.mark.parametrize("prompt", PROMPTS)
def test_the_fake_streams_what_the_offline_model_would_for_the_same_directives(upstream_url: str, prompt: str) -> None:
    _, pieces = plan_reply([{"role": "user", "content": [{"text": prompt}]}])
    status, body = invoke(upstream_url, prompt)
    assert status == 200
    streamed = deltas(body)
    assert [len(text) for text in streamed] == [len(piece) for piece in pieces]
    assert b'"type": "done"' in body


@pytest.mark.parametrize("prompt", ["[[pieces:abc]]", "[[bytes:-1]]", "[[pieces:2]] [[bytes:9]]", "[[pause:nan]]",
                                    "[[piece-size:0]] [[bytes:5]]", "[[tool:bad name]]", "[[gap-ms:x]]"])
def test_the_fake_refuses_what_the_offline_model_refuses_with_its_message(upstream_url: str, prompt: str) -> None:
    status, body = invoke(upstream_url, prompt)
    assert status == 400
    assert json.loads(body)["message"].startswith("directive")


def test_gap_ms_is_the_fakes_own_directive_in_the_same_syntax(upstream_url: str) -> None:
    status, body = invoke(upstream_url, "[[gap-ms: 1 ]] [[pieces:3]]")
    assert status == 200
    stamps = [float(text) for text in deltas(body)]
    assert len(stamps) == 3 and stamps == sorted(stamps)
