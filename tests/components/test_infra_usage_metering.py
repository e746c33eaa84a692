"""Usage metering in the infrastructure: with usageMetricsEnabled (prod) the proxy is told its stack's
metrics namespace, and the prod dashboard graphs exactly the metrics the proxy's usage records publish
(checked against a record the proxy's own code builds from the deployed environment, so a renamed
metric on either side fails)."""

from __future__ import annotations

import json
import re

from tests.support.infra_harness import ProgramRun

from stack_config.naming import metrics_namespace
from streaming_shared.edge import ProxySettings, load_settings
from streaming_proxy.metering import Usage, usage_record
from tests.support.emf import emf_metrics, emf_problems

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
FUNCTION = "aws:lambda/function:Function"
VALID_RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-AbCdEf1234"
# SEARCH('{"<namespace>",<dimension>,...} MetricName="<name>"', '<stat>', <period>)
SEARCH = re.compile(r"""SEARCH\('\{"(?P<namespace>[^"]+)",(?P<dimensions>[^}]*)\} MetricName="(?P<metric>[^"]+)"', 'Sum', \d+\)""")


def proxy_settings(run: ProgramRun) -> ProxySettings:
    """The deployed proxy's settings, read as the proxy reads them (the mock's runtime id is too short)."""
    variables = run.one(FUNCTION).inputs["environment"]["variables"]
    return load_settings({**variables, "AGENT_RUNTIME_ARN": VALID_RUNTIME_ARN})


def published_metrics(settings: ProxySettings) -> set:
    """Every metric a turn's usage record makes CloudWatch extract, for each outcome kind."""
    published = set()
    for usage, outcome in ((Usage(3, 9, 12, 40), "done"), (None, "AGENT_ERROR"), (None, "client_disconnected")):
        record = usage_record(usage=usage, stream_outcome=outcome, duration_ms=10.0, session_hash="h",
                              namespace=settings.metrics_namespace, stack=settings.metrics_stack,
                              timestamp_ms=1_764_560_000_000)
        assert emf_problems(record, now_ms=1_764_560_000_000) == []
        published |= emf_metrics(record)
    return published


def test_prod_gives_the_proxy_its_own_metrics_namespace(prod_run: ProgramRun) -> None:
    settings = proxy_settings(prod_run)
    assert settings.metrics_namespace == "agentcore-streaming/prod"
    assert settings.metrics_stack == "prod"


def test_dev_logs_usage_records_without_metrics(dev_run: ProgramRun) -> None:
    # usageMetricsEnabled is off in dev: custom metrics are billed; the records alone are free.
    settings = proxy_settings(dev_run)
    assert (settings.metrics_namespace, settings.metrics_stack) == ("", "")
    variables = dev_run.one(FUNCTION).inputs["environment"]["variables"]
    assert not any(name.startswith("PROXY_METRICS_") for name in variables)


def test_the_namespace_is_never_an_aws_one_and_fits_cloudwatch() -> None:
    assert metrics_namespace("agentcore-streaming", "prod") == "agentcore-streaming/prod"
    assert not metrics_namespace("AWS", "prod").startswith("AWS/")
    assert len(metrics_namespace("p" * 200, "s" * 200)) == 255


def test_prod_dashboard_graphs_tokens_per_minute_from_the_proxys_metrics(prod_run: ProgramRun) -> None:
    settings = proxy_settings(prod_run)
    body = json.loads(prod_run.one(DASHBOARD).inputs["dashboardBody"])
    [tokens] = [w["properties"] for w in body["widgets"] if w["properties"]["title"] == "Tokens per minute"]
    assert tokens["period"] == 60 and tokens["stat"] == "Sum"
    graphed = {(m[0], m[1], tuple(zip(m[2::2], m[3::2]))) for m in tokens["metrics"]}
    stack = (("stack", "prod"),)
    assert graphed == {(settings.metrics_namespace, name, stack)
                       for name in ("InputTokens", "OutputTokens", "TotalTokens")}
    assert graphed <= published_metrics(settings)


def test_prod_dashboard_graphs_turns_by_outcome_from_the_proxys_metrics(prod_run: ProgramRun) -> None:
    settings = proxy_settings(prod_run)
    published = published_metrics(settings)
    body = json.loads(prod_run.one(DASHBOARD).inputs["dashboardBody"])
    [turns] = [w["properties"] for w in body["widgets"] if w["properties"]["title"].startswith("Turns by outcome")]
    [expression] = [m[0]["expression"] for m in turns["metrics"] if isinstance(m[0], dict)]
    search = SEARCH.fullmatch(expression)
    assert search, expression
    # A metric schema matches metrics with exactly these dimensions: Turns per stack and outcome.
    dimensions = set(search["dimensions"].split(","))
    assert (search["namespace"], search["metric"]) == (settings.metrics_namespace, "Turns")
    assert any(namespace == search["namespace"] and name == "Turns" and {key for key, _ in dims} == dimensions
               for namespace, name, dims in published)
    # Several outcomes appear, one line each: outcome is a dimension of Turns, never of tokens.
    outcomes = {dict(dims).get("outcome") for _, name, dims in published if name == "Turns"}
    assert outcomes == {None, "done", "error:AGENT_ERROR", "client_disconnected"}
    assert not any("outcome" in dict(dims) for _, name, dims in published if name != "Turns")
    plain = {(m[0], m[1], tuple(zip(m[2:-1:2], m[3:-1:2]))) for m in turns["metrics"] if isinstance(m[0], str)}
    assert plain and plain <= published


def test_no_metric_is_published_per_caller(prod_run: ProgramRun) -> None:
    for _, _, dims in published_metrics(proxy_settings(prod_run)):
        assert {key for key, _ in dims} <= {"stack", "outcome"}
