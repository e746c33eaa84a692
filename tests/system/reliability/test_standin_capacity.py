"""The stand-in keeps many long streams open at once (it once failed stream 101+ after 10 s).

httpx's default pool of 100 connections made every further invocation wait for a free connection
and fail with 424 after the 10 s pool timeout; a fast fake agent that stays silent for longer than
that shows it without the real agent's own limits in the way.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bench.fake_stack import fake_upstream
from local.stack import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    LOCAL_REGION,
    LOCAL_RUNTIME_ARN,
    REPO_ROOT,
    find_free_port,
    http_ok,
)

STREAMS = 110  # more than httpx's default pool of 100
SILENCE_SECONDS = 11  # longer than the stand-in's 10 s connection-pool timeout


@pytest.fixture(scope="module")
def standin_url() -> Iterator[str]:
    with fake_upstream() as agent_url:
        port = find_free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "local.standin", "--port", str(port), "--agent-url", agent_url,
             "--runtime-arn", LOCAL_RUNTIME_ARN, "--log-level", "warning"],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not http_ok("127.0.0.1", port, "/_standin/health"):
                assert process.poll() is None and time.monotonic() < deadline, "stand-in did not start"
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def agentcore_client(endpoint_url: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id=DUMMY_ACCESS_KEY_ID, aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY, region_name=LOCAL_REGION
    ).client(
        "bedrock-agentcore",
        endpoint_url=endpoint_url,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60, max_pool_connections=STREAMS),
    )


def test_more_than_a_hundred_long_streams_all_complete(standin_url: str) -> None:
    client = agentcore_client(standin_url)

    def one(index: int) -> bytes:
        response = client.invoke_agent_runtime(
            agentRuntimeArn=LOCAL_RUNTIME_ARN,
            runtimeSessionId=f"capacity-session-{index:04d}-" + "0" * 20,
            payload=f'{{"prompt": "[[pause:{SILENCE_SECONDS}]] [[pieces:3]]"}}'.encode(),
        )
        return response["response"].read()

    with ThreadPoolExecutor(max_workers=STREAMS) as pool:
        bodies = list(pool.map(one, range(STREAMS)))
    assert all(body.count(b'"type": "delta"') == 3 and b'"done"' in body for body in bodies)
