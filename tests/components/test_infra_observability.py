"""Access logs, alarms, their topic and the dashboard."""

from __future__ import annotations

import json
import logging
import re

import pytest
from tests.support.infra_harness import ProgramRun, run_program, stack_config

from components.observability import MonitoredNames, alarm_definitions, dashboard_body
from stack_config.settings import PROJECT, parse_settings
from streaming_shared.edge import SettingsError
from components.api_builders import access_log_format

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
KEY = "aws:kms/key:Key"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
STAGE = "aws:apigateway/stage:Stage"
FUNCTION = "aws:lambda/function:Function"


def alarms_by_metric(run: ProgramRun) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for alarm in run.of_type(ALARM):
        inputs = alarm.inputs
        if "metricQueries" in inputs:
            metrics = {q["metric"]["metricName"] for q in inputs["metricQueries"] if "metric" in q}
            key = "+".join(sorted(metrics))
        else:
            key = f"{inputs['namespace']}/{inputs['metricName']}"
        found[key] = inputs
    return found


# --- access logs -----------------------------------------------------------------------------


def test_access_log_format_is_json_with_the_latency_and_identity_fields(stack_run: ProgramRun) -> None:
    access_format = json.loads(stack_run.one(STAGE).inputs["accessLogSettings"]["format"])
    assert access_format["integrationLatency"] == "$context.integration.latency"
    assert access_format["responseLatency"] == "$context.responseLatency"
    for field in ("requestId", "ip", "caller", "user", "requestTime", "httpMethod", "resourcePath", "status",
                  "protocol", "responseLength", "integrationStatus", "integrationErrorMessage"):
        assert access_format[field].startswith("$context."), field
    # WAF's verdict only where a web ACL exists (prod).
    assert ("wafResponseCode" in access_format) is bool(stack_run.of_type("aws:wafv2/webAcl:WebAcl"))


def test_access_log_never_names_a_body_or_a_secret() -> None:
    text = access_log_format(waf_enabled=True)
    assert not re.search(r"requestBody|responseBody|apiKey\"|\$context\.identity\.apiKey\b|token", text, re.I)


# --- alarms, topic, dashboard ----------------------------------------------------------------


def test_prod_alarms_watch_the_stream_path_and_notify_the_topic(prod_run: ProgramRun) -> None:
    topic = prod_run.one(TOPIC)
    topic_arn = f"arn:aws:sns:us-east-1:123456789012:{topic.inputs['name']}"
    alarms = alarms_by_metric(prod_run)
    assert set(alarms) == {"5XXError+Count", "AWS/Lambda/Errors", "AWS/Lambda/Throttles",
                           "AWS/Lambda/Duration", "AWS/WAFV2/BlockedRequests",
                           "agentcore-streaming/prod/ProxyErrorLogLines"}
    for inputs in alarms.values():
        assert inputs["alarmActions"] == [topic_arn] and inputs["okActions"] == [topic_arn]
    function = prod_run.one(FUNCTION).inputs
    for key in ("AWS/Lambda/Errors", "AWS/Lambda/Throttles", "AWS/Lambda/Duration"):
        assert alarms[key]["dimensions"] == {"FunctionName": function["name"]}
    # "Near the stream limit": p99 above 90 % of the function's timeout, in milliseconds.
    duration = alarms["AWS/Lambda/Duration"]
    assert duration["extendedStatistic"] == "p99"
    assert duration["threshold"] == pytest.approx(function["timeout"] * 1000 * 0.9)
    waf = alarms["AWS/WAFV2/BlockedRequests"]
    assert waf["dimensions"]["WebACL"] == prod_run.one("aws:wafv2/webAcl:WebAcl").inputs["name"]


def test_prod_5xx_alarm_is_a_rate_of_this_apis_requests(prod_run: ProgramRun) -> None:
    rate = alarms_by_metric(prod_run)["5XXError+Count"]
    queries = {q["id"]: q for q in rate["metricQueries"]}
    api_name = prod_run.one("aws:apigateway/restApi:RestApi").inputs["name"]
    for metric_id in ("errors", "requests"):
        assert queries[metric_id]["metric"]["namespace"] == "AWS/ApiGateway"
        assert queries[metric_id]["metric"]["dimensions"] == {"ApiName": api_name, "Stage": "v1"}
    [returned] = [q for q in rate["metricQueries"] if q.get("returnData")]
    assert "errors / requests" in returned["expression"]


def test_prod_topic_is_encrypted_with_a_key_cloudwatch_may_use(prod_run: ProgramRun) -> None:
    topic = prod_run.one(TOPIC)
    key = prod_run.one(KEY)
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:us-east-1:123456789012:key/{key.name}-id"
    assert key.inputs["enableKeyRotation"] is True
    statements = json.loads(key.inputs["policy"])["Statement"]
    [cloudwatch] = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    # Every alarm's ARN matches the grant's pattern, or its notifications would be dropped.
    pattern = cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]
    regex = re.compile(re.escape(pattern).replace(r"\*", ".*"))
    for alarm in prod_run.of_type(ALARM):
        assert regex.fullmatch(f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm.inputs['name']}")
    assert not prod_run.of_type(SUBSCRIPTION)  # alarmEmail is empty in Pulumi.prod.yaml


def test_prod_dashboard_shows_api_lambda_and_waf(prod_run: ProgramRun) -> None:
    body = json.loads(prod_run.one(DASHBOARD).inputs["dashboardBody"])
    # A metric is [namespace, name, ...]; a search or math expression is [{"expression": ...}].
    metrics = {(m[0], m[1]) for w in body["widgets"] for m in w["properties"]["metrics"] if isinstance(m[0], str)}
    assert {("AWS/ApiGateway", name) for name in ("Count", "Latency", "IntegrationLatency", "4XXError", "5XXError")} <= metrics
    assert {("AWS/Lambda", name) for name in ("Invocations", "Duration", "Errors", "ConcurrentExecutions")} <= metrics
    assert {("AWS/WAFV2", "AllowedRequests"), ("AWS/WAFV2", "BlockedRequests")} <= metrics
    assert prod_run.outputs["dashboardName"] == prod_run.one(DASHBOARD).inputs["dashboardName"]


def test_dev_has_no_alarms_topic_or_dashboard(dev_run: ProgramRun) -> None:
    for token in (ALARM, TOPIC, KEY, DASHBOARD, SUBSCRIPTION):
        assert not dev_run.of_type(token), token
    assert "alarmTopicArn" not in dev_run.outputs


def test_alarm_email_subscribes_and_a_stack_without_waf_has_no_waf_alarm() -> None:
    run = run_program("dev", stack_config("dev", overrides={
        f"{PROJECT}:observabilityEnabled": True, f"{PROJECT}:alarmEmail": "oncall@example.com",
    }))
    subscription = run.one(SUBSCRIPTION).inputs
    assert subscription["protocol"] == "email" and subscription["endpoint"] == "oncall@example.com"
    assert subscription["topic"] == run.outputs["alarmTopicArn"]
    assert "AWS/WAFV2/BlockedRequests" not in alarms_by_metric(run)
    body = json.loads(run.one(DASHBOARD).inputs["dashboardBody"])
    assert not any(m[0] == "AWS/WAFV2" for w in body["widgets"] for m in w["properties"]["metrics"])


def test_alarm_email_needs_observability_and_a_real_address() -> None:
    with pytest.raises(SettingsError, match="agentcore-streaming:alarmEmail.*observabilityEnabled"):
        parse_settings(PROJECT, "dev", stack_config("dev", overrides={f"{PROJECT}:alarmEmail": "a@example.com"}))
    with pytest.raises(SettingsError, match="agentcore-streaming:alarmEmail.*e-mail"):
        parse_settings(PROJECT, "prod", stack_config("prod", overrides={f"{PROJECT}:alarmEmail": "not-an-address"}))


def test_alarm_definitions_follow_the_timeout_and_the_waf() -> None:
    names = MonitoredNames(region="eu-west-1", api_name="a", stage_name="v1", function_name="f",
                           function_timeout_seconds=300, web_acl_name=None,
                           metrics_namespace="agentcore-streaming/dev", stack_name="dev",
                           log_metrics_namespace="agentcore-streaming/dev")
    alarms = alarm_definitions(names, "p-")
    assert all(a["name"].startswith("p-") for a in alarms)
    [duration] = [a for a in alarms if a.get("metric_name") == "Duration"]
    assert duration["threshold"] == pytest.approx(270_000)
    assert not any(a.get("namespace") == "AWS/WAFV2" for a in alarms)
    assert all(w["properties"]["region"] == "eu-west-1" for w in dashboard_body(names)["widgets"])


# --- the proxy's own ERROR log lines (issue 19, item 5) ----------------------------------------

METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"


def test_a_metric_filter_counts_the_proxys_error_lines_and_an_alarm_watches_it(prod_run: ProgramRun) -> None:
    # Lambda's Errors metric may not count a function that failed mid-stream: the proxy's log does.
    [metric_filter] = prod_run.of_type(METRIC_FILTER)
    inputs = metric_filter.inputs
    # The group the proxy function writes to (its logging_config), not /aws/lambda/<name>.
    assert inputs["logGroupName"] == prod_run.one(FUNCTION).inputs["loggingConfig"]["logGroup"]
    assert inputs["pattern"] == '{ ($.level = "ERROR") || ($.level = "CRITICAL") }'
    transformation = inputs["metricTransformation"]
    assert transformation["value"] == "1" and "defaultValue" not in transformation
    alarm = alarms_by_metric(prod_run)[f"{transformation['namespace']}/{transformation['name']}"]
    assert transformation["namespace"] == "agentcore-streaming/prod"
    assert alarm["statistic"] == "Sum" and alarm["threshold"] == 1
    assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["treatMissingData"] == "notBreaching"
    topic = prod_run.one(TOPIC).inputs["name"]
    assert alarm["alarmActions"] == [f"arn:aws:sns:us-east-1:123456789012:{topic}"]


def test_no_metric_filter_without_observability(dev_run: ProgramRun) -> None:
    assert dev_run.of_type(METRIC_FILTER) == []


def test_the_proxys_error_lines_carry_the_level_the_filter_selects() -> None:
    # The filter's $.level is the top-level `level` field of the proxy's JSON log lines.
    import io

    from streaming_shared.jsonlog import JsonLogger

    stream = io.StringIO()
    JsonLogger("streaming-proxy", "INFO", stream, defer_in_loop=False).log(logging.ERROR, "stream failed", code="X")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["level"] == "ERROR"
