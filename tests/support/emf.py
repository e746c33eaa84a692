"""A validator for CloudWatch embedded metric format (EMF) documents, written from the specification.

Amazon CloudWatch User Guide, "Specification: Embedded metric format"
(AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
- the root node has `_aws`, an object with `Timestamp` (a number: milliseconds since the epoch) and
  `CloudWatchMetrics`, an array of MetricDirectives;
- a MetricDirective has `Namespace` (string), `Dimensions` (an array of DimensionSets: arrays of at
  most 9 strings, each naming a root member whose value is a string) and `Metrics` (at most 100
  MetricDefinitions, each with a `Name` naming a root member whose value is a number or an array of
  at most 100 numbers, and an optional `Unit` from CloudWatch's units);
- targets are root members, never nested; every member the directives reference must be present.
"""

from __future__ import annotations

import math
import time
from typing import Any

UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})
MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = 9
MAX_VALUES_PER_METRIC = 100
# EMF accepts timestamps up to two weeks old and two hours ahead; a timestamp in seconds (ten
# digits) would be read as January 1970 and is the mistake this bound catches.
EARLIEST_PLAUSIBLE_MS = 1_500_000_000_000


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def emf_problems(document: Any, now_ms: int | None = None) -> list[str]:
    """Everything that makes `document` an invalid EMF document (empty when it is valid)."""
    if not isinstance(document, dict):
        return ["the root node is not a JSON object"]
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        return ["no _aws object on the root node"]
    problems: list[str] = []
    timestamp = metadata.get("Timestamp")
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        problems.append(f"_aws.Timestamp must be a whole number of milliseconds, got {timestamp!r}")
    elif not EARLIEST_PLAUSIBLE_MS <= timestamp <= now_ms + 2 * 3600 * 1000:
        problems.append(f"_aws.Timestamp {timestamp} is not milliseconds since the epoch near now")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return problems + ["_aws.CloudWatchMetrics must be a non-empty array"]
    for index, directive in enumerate(directives):
        problems += [f"CloudWatchMetrics[{index}]: {problem}" for problem in _directive_problems(directive, document)]
    return problems


def _directive_problems(directive: Any, root: dict[str, Any]) -> list[str]:
    if not isinstance(directive, dict):
        return ["not an object"]
    problems = []
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
        problems.append(f"Namespace must be a string of 1-255 characters, got {namespace!r}")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list) or not dimension_sets:
        problems.append("Dimensions must be a non-empty array of DimensionSets")
        dimension_sets = []
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            problems.append(f"a DimensionSet must be an array of at most 9 keys, got {dimension_set!r}")
            continue
        for key in dimension_set:
            if not isinstance(key, str) or not isinstance(root.get(key), str):
                problems.append(f"dimension {key!r} is not a string member of the root node")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS_PER_DIRECTIVE:
        return problems + ["Metrics must be an array of at most 100 MetricDefinitions"]
    for definition in metrics:
        name = definition.get("Name") if isinstance(definition, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"a MetricDefinition needs a Name, got {definition!r}")
            continue
        unit = definition.get("Unit", "None")
        if unit not in UNITS:
            problems.append(f"metric {name!r} has unit {unit!r}, not a CloudWatch unit")
        value = root.get(name)
        numbers = value if isinstance(value, list) else [value]
        if not numbers or len(numbers) > MAX_VALUES_PER_METRIC or not all(_is_number(v) for v in numbers):
            problems.append(f"metric {name!r} is not a number (or array of numbers) on the root node: {value!r}")
    return problems


def emf_metrics(document: dict[str, Any]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric name, ((dimension, value), ...)) for every metric CloudWatch would extract."""
    extracted = set()
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = tuple((key, document[key]) for key in dimension_set)
            for definition in directive["Metrics"]:
                extracted.add((directive["Namespace"], definition["Name"], dimensions))
    return extracted
