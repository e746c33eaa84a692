"""Issue 19, item 3: what bounds an abandoned turn on the built stacks.

The stream limit the proxy enforces ends at least 20 s before API Gateway's 900 s integration
limit (which counts the function's init); the agent gets its output-token and turn time limits.
"""

from __future__ import annotations

import pytest
from tests.support.infra_harness import ProgramRun, run_program, stack_config

from streaming_shared.edge import SettingsError

FUNCTION = "aws:lambda/function:Function"
INTEGRATION = "aws:apigateway/integration:Integration"
RUNTIME = "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime"
# API Gateway's limit on a streamed integration, counted from the request (init included).
API_GATEWAY_STREAM_LIMIT_SECONDS = 900


def proxy_stream_limit(run: ProgramRun) -> float:
    return float(run.one(FUNCTION).inputs["environment"]["variables"]["PROXY_STREAM_TIMEOUT_SECONDS"])


def test_the_proxy_ends_every_stream_20_s_before_the_integration_and_the_function_do(stack_run: ProgramRun) -> None:
    limit = proxy_stream_limit(stack_run)
    function_timeout = stack_run.one(FUNCTION).inputs["timeout"]
    # Every route's integration (POST /invoke and POST /stop) has the same timeout.
    [integration_timeout] = {i.inputs["timeoutMilliseconds"] / 1000 for i in stack_run.of_type(INTEGRATION)}
    assert integration_timeout <= API_GATEWAY_STREAM_LIMIT_SECONDS
    assert limit <= API_GATEWAY_STREAM_LIMIT_SECONDS - 20
    # The integration's clock includes the function's init, which the proxy's does not.
    assert limit <= integration_timeout - 20
    assert limit <= function_timeout - 20
    # The wait for AgentCore's response head is bounded by the stream limit too (upstream.AgentCore.invoke).


def test_a_shorter_stream_limit_moves_the_function_and_the_integration_with_it() -> None:
    run = run_program("dev", stack_config("dev", overrides={"agentcore-streaming:streamTimeoutSeconds": 300,
                                                            "agentcore-streaming:turnTimeLimitSeconds": 200}))
    assert proxy_stream_limit(run) == 300
    assert run.one(FUNCTION).inputs["timeout"] == 320
    assert {i.inputs["timeoutMilliseconds"] for i in run.of_type(INTEGRATION)} == {320_000}


def test_a_stream_limit_api_gateway_would_cut_is_refused_naming_the_key_and_its_maximum() -> None:
    with pytest.raises(SettingsError, match=r"agentcore-streaming:streamTimeoutSeconds: must be at most 880"):
        run_program("dev", stack_config("dev", overrides={"agentcore-streaming:streamTimeoutSeconds": 890}))


def test_the_agent_gets_its_turn_limits(stack_run: ProgramRun) -> None:
    env = stack_run.one(RUNTIME).inputs["environmentVariables"]
    expected = {"dev": ("2048", "120"), "prod": ("4096", "300")}[stack_run.stack]
    assert (env["AGENT_MAX_OUTPUT_TOKENS"], env["AGENT_TURN_TIME_LIMIT_SECONDS"]) == expected
    # A turn never outlives the stream that would carry it.
    assert int(env["AGENT_TURN_TIME_LIMIT_SECONDS"]) <= proxy_stream_limit(stack_run)
