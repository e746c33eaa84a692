"""A proxy whose upstream is bench.fake_upstream instead of the stand-in and the agent."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from local.stack import HOST, REPO_ROOT, LocalStack, StackSettings, find_free_port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fake upstream exited with code {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"fake upstream did not listen on {HOST}:{port} within {timeout} s")


@contextlib.contextmanager
def fake_upstream() -> Iterator[str]:
    port = find_free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_upstream", "--port", str(port)], cwd=REPO_ROOT, stdin=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def stack_with_fake_upstream(proxy_env: dict[str, str] | None = None) -> Iterator[tuple[LocalStack, str]]:
    """A LocalStack whose proxy calls the fake upstream (its stand-in and agent stay idle), and the fake's URL."""
    with fake_upstream() as upstream_url:
        with LocalStack(StackSettings(proxy_env={"AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": upstream_url, **(proxy_env or {})})) as stack:
            yield stack, upstream_url
