"""Physical resource names derived from project and stack, so dev and prod share an account."""

from __future__ import annotations

import hashlib
import re

# AgentCore runtime and endpoint names: a letter, then letters, digits or underscores, 48 at most.
AGENTCORE_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
AGENTCORE_NAME_MAX = 48
_HASH_CHARS = 8


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def _fit(name: str, source: str, max_length: int, separator: str) -> str:
    # Truncating alone would let two long stack names that share a prefix collide, so a cut name
    # ends in a hash of the full, unsanitized source.
    if len(name) <= max_length:
        return name
    keep = max_length - len(separator) - _HASH_CHARS
    return f"{name[:keep].rstrip(separator)}{separator}{_short_hash(source)}"


def agentcore_name(project: str, stack: str, role: str = "agent", max_length: int = AGENTCORE_NAME_MAX) -> str:
    """A valid AgentCore name such as `agentcore_streaming_dev_agent` (shorter to leave room for a suffix)."""
    source = f"{project}-{stack}-{role}"
    name = re.sub(r"[^a-zA-Z0-9_]", "_", source)
    name = re.sub(r"_+", "_", name).strip("_")
    if not name or not name[0].isalpha():
        name = f"a_{name}"
    return _fit(name, source, min(max_length, AGENTCORE_NAME_MAX), "_")


def metrics_namespace(project: str, stack: str) -> str:
    """The CloudWatch namespace of one stack's usage metrics, such as `agentcore-streaming/prod`.

    Pulumi project and stack names are letters, digits, '-', '_' and '.', all allowed in a namespace
    (printable ASCII, 255 at most); only the "AWS/" prefix is reserved for AWS's own services.
    """
    namespace = f"{project}/{stack}"[:255]
    return f"_{namespace}"[:255] if namespace.startswith("AWS/") else namespace


def physical_name(project: str, stack: str, role: str, max_length: int = 64) -> str:
    """A lower-case, hyphenated name such as `agentcore-streaming-dev-proxy`."""
    source = f"{project}-{stack}-{role}"
    name = re.sub(r"[^a-z0-9-]", "-", source.lower())
    name = re.sub(r"-+", "-", name).strip("-")
    return _fit(name, source, max_length, "-")
