"""Helpers for the agent tests: the real agent app served in a thread (tests.support), and an SSE reader."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from streaming_agent.app import create_app
from strands.models import Model
from streaming_agent.settings import load_settings

from tests.support.servers import ServerThread

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def session_id(label: str) -> str:
    # AgentCore session ids are 33-256 characters; keep the tests realistic.
    return f"test-session-{label}".ljust(40, "0")


@contextmanager
def running_agent(env: Mapping[str, str], model: Model | None = None) -> Iterator[str]:
    """Serve create_app(load_settings(env), model) on 127.0.0.1:<ephemeral>; yield its base URL."""
    settings = load_settings({"AGENT_MODEL_PROVIDER": "offline", **env})
    with ServerThread(create_app(settings, model), "agent") as server:
        yield server.url


@dataclass
class Turn:
    status: int
    content_type: str
    events: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # time.monotonic() per event

    @property
    def deltas(self) -> list[str]:
        return [event["text"] for event in self.events if event.get("type") == "delta"]

    @property
    def text(self) -> str:
        return "".join(self.deltas)


def iter_sse_data(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[len("data: "):])


def invoke(
    base_url: str,
    prompt: Any,
    session: str | None = None,
    on_event: Any = None,
    payload: Any = None,
) -> Turn:
    """POST /invocations and read the whole SSE stream, stamping each event on arrival."""
    headers = {SESSION_HEADER: session} if session else {}
    body = payload if payload is not None else {"prompt": prompt}
    with httpx.Client(timeout=httpx.Timeout(60.0)) as client:
        with client.stream("POST", f"{base_url}/invocations", json=body, headers=headers) as response:
            turn = Turn(status=response.status_code, content_type=response.headers.get("content-type", ""))
            for event in iter_sse_data(response.iter_lines()):
                turn.events.append(event)
                turn.received_at.append(time.monotonic())
                if on_event is not None:
                    on_event(event)
    return turn


def read_trace(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
