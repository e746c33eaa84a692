"""Alarms on the stream path, the encrypted SNS topic they notify, and a CloudWatch dashboard.

The alarm definitions and the dashboard body are plain functions of names and numbers, so they
can be checked without Pulumi; the component only turns them into resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components import policies
from streaming_shared.edge import (
    OUTCOME_DIMENSION,
    STACK_DIMENSION,
    TOKEN_METRICS,
    TURN_DURATION_METRIC,
    TURNS_METRIC,
)

PERIOD_SECONDS = 300
# API 5XX rate (percent of requests) that raises the alarm, and the traffic below which a rate
# means nothing (two requests and one failure is not "50 % errors" worth waking someone for;
# a crashing proxy still trips the Lambda Errors alarm).
API_5XX_RATE_PERCENT = 5
API_5XX_MIN_REQUESTS = 10
# A p99 duration above this share of the Lambda timeout means streams are being cut at the limit.
DURATION_SHARE_OF_TIMEOUT = 0.9
# Blocked requests per 5 minutes that count as an attack rather than the odd scanner.
WAF_BLOCKED_SPIKE = 100
# Tokens are shown per minute: the rate a model's quota is stated in.
TOKENS_PERIOD_SECONDS = 60
# The proxy's own ERROR log lines (its JSON field `level`: an unexpected failure while streaming, a
# configuration it cannot start with), counted by a metric filter on its log group. Lambda's Errors
# metric may not count them: a function that fails mid-stream has Lambda append its error lines to
# the body, and the invocation can still count as a success.
PROXY_ERROR_LOG_METRIC = "ProxyErrorLogLines"
PROXY_ERROR_LOG_PATTERN = '{ ($.level = "ERROR") || ($.level = "CRITICAL") }'


@dataclass(frozen=True)
class MonitoredNames:
    """The physical names the metrics are published under."""

    region: str
    api_name: str
    stage_name: str
    function_name: str
    function_timeout_seconds: int
    # None when no web ACL guards the stage: no WAF alarm, no WAF widget.
    web_acl_name: Optional[str]
    # The proxy's usage metrics (EMF): their namespace (None: not published, no usage widgets) and
    # the value of their `stack` dimension.
    metrics_namespace: Optional[str]
    stack_name: str
    # Namespace of the metrics the stack counts from its logs (the stack's own, as usage metrics').
    log_metrics_namespace: str


def _metric(namespace: str, metric_name: str, dimensions: dict[str, str], stat: str) -> dict[str, Any]:
    return {"namespace": namespace, "metric_name": metric_name, "dimensions": dimensions,
            "period": PERIOD_SECONDS, "stat": stat}


def _api_dimensions(names: MonitoredNames) -> dict[str, str]:
    return {"ApiName": names.api_name, "Stage": names.stage_name}


def _waf_dimensions(names: MonitoredNames) -> dict[str, str]:
    assert names.web_acl_name is not None
    return {"WebACL": names.web_acl_name, "Region": names.region, "Rule": "ALL"}


def _api_5xx_rate_alarm(names: MonitoredNames, alarm_name_prefix: str) -> dict[str, Any]:
    """The share of 5XX answers, once there are enough requests for a share to mean something."""
    return {
        "role": "api-5xx-rate",
        "name": f"{alarm_name_prefix}api-5xx-rate",
        "alarm_description": f"More than {API_5XX_RATE_PERCENT}% of POST /invoke requests failed with 5XX "
                             f"(at least {API_5XX_MIN_REQUESTS} requests in 5 minutes).",
        "comparison_operator": "GreaterThanThreshold",
        "threshold": API_5XX_RATE_PERCENT,
        "evaluation_periods": 1,
        "treat_missing_data": "notBreaching",
        "metric_queries": [
            {"id": "errors", "return_data": False,
             "metric": _metric("AWS/ApiGateway", "5XXError", _api_dimensions(names), "Sum")},
            {"id": "requests", "return_data": False,
             "metric": _metric("AWS/ApiGateway", "Count", _api_dimensions(names), "Sum")},
            {"id": "rate", "return_data": True, "label": "5XX rate (%)",
             "expression": f"IF(requests >= {API_5XX_MIN_REQUESTS}, 100 * errors / requests, 0)"},
        ],
    }


def alarm_definitions(names: MonitoredNames, alarm_name_prefix: str) -> list[dict[str, Any]]:
    """Keyword arguments of aws.cloudwatch.MetricAlarm for each alarm (without the actions)."""
    function = {"FunctionName": names.function_name}
    single_metric = {"period": PERIOD_SECONDS, "treat_missing_data": "notBreaching"}
    alarms: list[dict[str, Any]] = [
        _api_5xx_rate_alarm(names, alarm_name_prefix),
        {
            "role": "lambda-errors",
            "name": f"{alarm_name_prefix}proxy-errors",
            "alarm_description": "The proxy Lambda failed (crash or timeout), not an error event it streamed.",
            "namespace": "AWS/Lambda", "metric_name": "Errors", "dimensions": function, "statistic": "Sum",
            "comparison_operator": "GreaterThanOrEqualToThreshold", "threshold": 1, "evaluation_periods": 1,
            **single_metric,
        },
        {
            "role": "lambda-throttles",
            "name": f"{alarm_name_prefix}proxy-throttles",
            "alarm_description": "The proxy Lambda was throttled (account or reserved concurrency exhausted).",
            "namespace": "AWS/Lambda", "metric_name": "Throttles", "dimensions": function, "statistic": "Sum",
            "comparison_operator": "GreaterThanOrEqualToThreshold", "threshold": 1, "evaluation_periods": 1,
            **single_metric,
        },
        {
            "role": "lambda-duration",
            "name": f"{alarm_name_prefix}proxy-duration-near-limit",
            "alarm_description": f"p99 of the proxy's duration is above {int(DURATION_SHARE_OF_TIMEOUT * 100)}% "
                                 f"of its {names.function_timeout_seconds} s timeout: streams are hitting the limit.",
            "namespace": "AWS/Lambda", "metric_name": "Duration", "dimensions": function,
            "extended_statistic": "p99",
            "comparison_operator": "GreaterThanThreshold",
            "threshold": names.function_timeout_seconds * 1000 * DURATION_SHARE_OF_TIMEOUT,
            # Two of three 5-minute periods: one long conversation is not a trend.
            "evaluation_periods": 3, "datapoints_to_alarm": 2,
            **single_metric,
        },
    ]
    alarms.append({
        "role": "proxy-error-logs",
        "name": f"{alarm_name_prefix}proxy-error-logs",
        "alarm_description": "The proxy logged an ERROR line (an unexpected failure while streaming, or a "
                             "configuration it cannot start with); the line in its log group has the request id.",
        "namespace": names.log_metrics_namespace, "metric_name": PROXY_ERROR_LOG_METRIC, "statistic": "Sum",
        "comparison_operator": "GreaterThanOrEqualToThreshold", "threshold": 1, "evaluation_periods": 1,
        **single_metric,
    })
    if names.web_acl_name is not None:
        alarms.append({
            "role": "waf-blocked",
            "name": f"{alarm_name_prefix}waf-blocked-spike",
            "alarm_description": f"WAF blocked more than {WAF_BLOCKED_SPIKE} requests in 5 minutes.",
            "namespace": "AWS/WAFV2", "metric_name": "BlockedRequests", "dimensions": _waf_dimensions(names),
            "statistic": "Sum", "comparison_operator": "GreaterThanThreshold", "threshold": WAF_BLOCKED_SPIKE,
            "evaluation_periods": 1,
            **single_metric,
        })
    return alarms


def _widget(title: str, metrics: list[list[Any]], region: str, *, stat: str = "Sum",
            period: int = PERIOD_SECONDS) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {"title": title, "region": region, "metrics": metrics, "stat": stat,
                       "period": period, "view": "timeSeries"},
    }


def turns_by_outcome_search(names: MonitoredNames) -> str:
    """Every outcome's Turns metric, found by search: outcomes are not known in advance (error codes)."""
    # The namespace has '/' and '-', so the metric schema quotes it.
    assert names.metrics_namespace is not None
    schema = f'{{"{names.metrics_namespace}",{OUTCOME_DIMENSION},{STACK_DIMENSION}}}'
    return f"SEARCH('{schema} MetricName=\"{TURNS_METRIC}\"', 'Sum', {PERIOD_SECONDS})"


def usage_widgets(names: MonitoredNames) -> list[dict[str, Any]]:
    """Tokens per minute and turns by outcome, from the usage records the proxy logs (EMF)."""
    if names.metrics_namespace is None:
        return []
    stack = [STACK_DIMENSION, names.stack_name]
    return [
        _widget("Tokens per minute", [
            [names.metrics_namespace, metric, *stack] for metric in TOKEN_METRICS
        ], names.region, period=TOKENS_PERIOD_SECONDS),
        _widget("Turns by outcome, and turn duration (ms)", [
            # No label: each line is then named by its outcome.
            [{"expression": turns_by_outcome_search(names), "id": "turns"}],
            [names.metrics_namespace, TURN_DURATION_METRIC, *stack, {"stat": "p99", "yAxis": "right"}],
        ], names.region),
    ]


def dashboard_body(names: MonitoredNames) -> dict[str, Any]:
    """The stream path from left to right: API Gateway, the proxy Lambda, then WAF when present."""
    api = ["AWS/ApiGateway"]
    api_dims = ["ApiName", names.api_name, "Stage", names.stage_name]
    lam = ["AWS/Lambda"]
    fn = ["FunctionName", names.function_name]
    widgets = [
        _widget("API requests and errors", [
            [*api, "Count", *api_dims],
            [*api, "4XXError", *api_dims],
            [*api, "5XXError", *api_dims],
        ], names.region),
        _widget("API latency (ms): first byte vs whole stream", [
            [*api, "IntegrationLatency", *api_dims, {"stat": "p50"}],
            [*api, "IntegrationLatency", *api_dims, {"stat": "p99"}],
            [*api, "Latency", *api_dims, {"stat": "p50"}],
            [*api, "Latency", *api_dims, {"stat": "p99"}],
        ], names.region, stat="p99"),
        _widget("Proxy invocations, errors and throttles", [
            [*lam, "Invocations", *fn],
            [*lam, "Errors", *fn],
            [*lam, "Throttles", *fn],
        ], names.region),
        _widget("Proxy duration (ms) and concurrency", [
            [*lam, "Duration", *fn, {"stat": "p50"}],
            [*lam, "Duration", *fn, {"stat": "p99"}],
            [*lam, "ConcurrentExecutions", *fn, {"stat": "Maximum", "yAxis": "right"}],
        ], names.region, stat="p99"),
        *usage_widgets(names),
    ]
    if names.web_acl_name is not None:
        waf = ["AWS/WAFV2"]
        waf_dims = ["WebACL", names.web_acl_name, "Region", names.region, "Rule", "ALL"]
        widgets.append(_widget("WAF allowed and blocked", [
            [*waf, "AllowedRequests", *waf_dims],
            [*waf, "BlockedRequests", *waf_dims],
        ], names.region))
    return {"widgets": widgets}


@dataclass
class ObservabilityArgs:
    # What to watch (physical names, known before deployment).
    names: MonitoredNames
    # Prefix of every alarm name (also scopes the KMS grant to these alarms); ends in "-".
    alarm_name_prefix: str
    # Physical names of the SNS topic and the dashboard.
    topic_name: str
    dashboard_name: str
    # One e-mail address to subscribe to the topic, or None.
    alarm_email: Optional[str]
    partition: pulumi.Input[str]
    account_id: pulumi.Input[str]
    # The proxy's log group, whose ERROR lines a metric filter counts.
    proxy_log_group_name: pulumi.Input[str]


def proxy_error_log_filter(names: MonitoredNames) -> dict[str, Any]:
    """Keyword arguments of aws.cloudwatch.LogMetricFilter (without the log group): one per ERROR line."""
    return {
        "pattern": PROXY_ERROR_LOG_PATTERN,
        # No default value: no data while nothing fails, which the alarm treats as not breaching.
        "metric_transformation": {"name": PROXY_ERROR_LOG_METRIC, "namespace": names.log_metrics_namespace,
                                  "value": "1", "unit": "Count"},
    }


class Observability(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = args.names

        # A key of our own, not alias/aws/sns: CloudWatch cannot use the AWS-managed SNS key (its
        # policy cannot grant the service), and notifications would be dropped without a trace.
        key = aws.kms.Key(
            f"{name}-topic-key",
            description=f"Encrypts the alarm topic {args.topic_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(args.partition, args.account_id).apply(
                lambda v: json.dumps(policies.alarm_topic_key_policy(v[0], names.region, v[1], args.alarm_name_prefix))
            ),
            opts=child,
        )
        aws.kms.Alias(f"{name}-topic-key-alias", name=f"alias/{args.topic_name}", target_key_id=key.key_id, opts=child)
        topic = aws.sns.Topic(f"{name}-topic", name=args.topic_name, kms_master_key_id=key.arn, opts=child)
        if args.alarm_email is not None:
            aws.sns.TopicSubscription(
                f"{name}-email", topic=topic.arn, protocol="email", endpoint=args.alarm_email, opts=child,
            )

        aws.cloudwatch.LogMetricFilter(
            f"{name}-proxy-error-logs", log_group_name=args.proxy_log_group_name,
            name=f"{args.alarm_name_prefix}proxy-error-logs", **proxy_error_log_filter(names), opts=child,
        )
        for definition in alarm_definitions(names, args.alarm_name_prefix):
            role = definition.pop("role")
            aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-{role}",
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                **definition,
                opts=child,
            )

        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.dashboard_name,
            dashboard_body=json.dumps(dashboard_body(names)),
            opts=child,
        )

        self.topic_arn = topic.arn
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"topicArn": self.topic_arn, "dashboardName": self.dashboard_name})
