"""Usage metering: the agent's token counts checked, and one usage record per turn for the log.

The record is one JSON log line (message "turn usage") that is also a CloudWatch embedded metric
format (EMF) document: on Lambda, CloudWatch Logs extracts its metrics from the function's log with
no API call and no extra permission. It names the caller (through the request's log context), the
session's hash, the tokens, the proxy's duration and the turn's outcome; never prompt or answer text.
Pure functions: the app decides when to log, this module what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streaming_shared.edge import (
    INPUT_TOKENS_METRIC,
    OUTCOME_DIMENSION,
    OUTPUT_TOKENS_METRIC,
    STACK_DIMENSION,
    TOTAL_TOKENS_METRIC,
    TURN_DURATION_METRIC,
    TURNS_METRIC,
)

# The usage object of the `done` event, in the agent's (Strands') spelling.
USAGE_KEYS = ("inputTokens", "outputTokens", "totalTokens", "latencyMs")
# JSON numbers beyond 2**53 lose precision in JavaScript clients; no turn comes near it.
MAX_USAGE_VALUE = 2**53 - 1
# Stream outcomes that are not failures; any other outcome is an error code (contract).
DONE = "done"
NOT_ERRORS = frozenset({DONE, "client_disconnected", "send_failed"})


@dataclass(frozen=True, slots=True)
class Usage:
    """One turn's usage as the agent reported it, every field checked."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    # The model's own latency for the turn (Bedrock's metadata.metrics.latencyMs, summed over calls).
    latency_ms: int

    def as_event(self) -> dict[str, int]:
        return dict(zip(USAGE_KEYS, (self.input_tokens, self.output_tokens, self.total_tokens, self.latency_ms)))


def _count(value: Any) -> int | None:
    # bool is an int in Python, never a count.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_USAGE_VALUE:
        return value
    return None


def parse_usage(value: Any) -> Usage | None:
    """The agent's `usage` when it is exactly what the contract promises (four whole counts), else None.

    All or nothing: a client either gets the four numbers or no `usage` at all, never a partial or
    mistyped object it would have to second-guess.
    """
    if not isinstance(value, dict):
        return None
    counts = [_count(value.get(key)) for key in USAGE_KEYS]
    if any(count is None for count in counts):
        return None
    return Usage(*counts)  # type: ignore[arg-type]


def usage_outcome(stream_outcome: str) -> str:
    """`done`, `client_disconnected`, `send_failed`, or `error:<CODE>` for a stream that ended in an error."""
    return stream_outcome if stream_outcome in NOT_ERRORS else f"error:{stream_outcome}"


def usage_record(
    *,
    usage: Usage | None,
    stream_outcome: str,
    duration_ms: float,
    session_hash: str | None,
    namespace: str,
    stack: str,
    timestamp_ms: int,
) -> dict[str, Any]:
    """The fields of one turn's usage record; with a namespace, also its EMF directives.

    Token fields are null when the turn produced no usage (an error, a client that left); then they
    are not declared as metrics either, since EMF needs a number for every metric it names.
    Tokens and duration are published per stack; Turns per stack and per stack and outcome.
    """
    record: dict[str, Any] = {
        "sessionHash": session_hash,
        OUTCOME_DIMENSION: usage_outcome(stream_outcome),
        INPUT_TOKENS_METRIC: usage.input_tokens if usage else None,
        OUTPUT_TOKENS_METRIC: usage.output_tokens if usage else None,
        TOTAL_TOKENS_METRIC: usage.total_tokens if usage else None,
        "modelLatencyMs": usage.latency_ms if usage else None,
        TURN_DURATION_METRIC: round(duration_ms, 1),
        TURNS_METRIC: 1,
    }
    if not namespace:
        return record
    metrics = [{"Name": name, "Unit": "Count"} for name in (INPUT_TOKENS_METRIC, OUTPUT_TOKENS_METRIC,
                                                            TOTAL_TOKENS_METRIC) if usage]
    metrics += [{"Name": TURN_DURATION_METRIC, "Unit": "Milliseconds"}, {"Name": TURNS_METRIC, "Unit": "Count"}]
    record[STACK_DIMENSION] = stack
    record["_aws"] = {
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": [[STACK_DIMENSION]], "Metrics": metrics},
            {"Namespace": namespace, "Dimensions": [[STACK_DIMENSION, OUTCOME_DIMENSION]],
             "Metrics": [{"Name": TURNS_METRIC, "Unit": "Count"}]},
        ],
    }
    return record
