"""The quick-start demo: start the local stack, hold a two-turn conversation through the client, stop."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from client import InvokeError, StreamBrokenError, stream_invoke
from local.stack import LocalStack, StackSettings, StackError

DEFAULT_PROMPT = "Hello! What can you do?"
DEFAULT_FOLLOW_UP = "Thanks. Please say that again, more briefly."


class DemoFailure(Exception):
    pass


def stream_turn(url: str, prompt: str, session_id: str | None, out: TextIO) -> str:
    """Print one answer as it streams; return the session id the API reports."""
    out.write(f"\nyou> {prompt}\nagent> ")
    out.flush()
    reported_session: str | None = None
    for event in stream_invoke(url, prompt, session_id=session_id, timeout=300.0):
        data = event.data or {}
        reported_session = data.get("sessionId", reported_session)
        if event.name == "delta":
            out.write(str(data.get("text", "")))
            out.flush()
        elif event.name == "error":
            raise DemoFailure(f"the stream ended with an error: {data.get('code')}: {data.get('message')}")
    out.write("\n")
    if not reported_session:
        raise DemoFailure("the API did not report a session id")
    if session_id is not None and reported_session != session_id:
        raise DemoFailure(f"asked to continue session {session_id!r} but the API answered for {reported_session!r}")
    out.write(f"(session: {reported_session})\n")
    return reported_session


def run_demo(
    prompt: str = DEFAULT_PROMPT,
    follow_up: str = DEFAULT_FOLLOW_UP,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    **stack_options: Any,
) -> int:
    """Exit status: 0 when both turns streamed to a done event in one session, else 1."""
    err.write("Starting the local stack (agent, AgentCore stand-in, proxy) on 127.0.0.1...\n")
    stack = LocalStack(StackSettings(port=0, **stack_options))
    try:
        with stack:
            err.write(f"Proxy ready at {stack.url}\n")
            session_id = stream_turn(stack.url, prompt, None, out)
            stream_turn(stack.url, follow_up, session_id, out)
    except StackError as error:
        err.write(f"demo failed: the local stack did not start: {error}\n")
        return 1
    except (DemoFailure, InvokeError, StreamBrokenError, OSError) as error:
        err.write(f"\ndemo failed: {error}\n")
        for name in ("proxy", "standin", "agent"):
            err.write(f"--- last {name} log lines ---\n" + "\n".join(stack.logs(name)[-15:]) + "\n")
        return 1
    err.write("Local stack stopped.\n")
    return 0
