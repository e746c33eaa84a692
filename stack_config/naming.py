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


def _underscored(text: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_]", "_", text)
    name = re.sub(r"_+", "_", name).strip("_")
    return name if name and name[0].isalpha() else f"a_{name}"


def agentcore_name_prefix(project: str) -> str:
    """What every AgentCore name of the project starts with (before `_<stack>_`), such as
    `agentcore_streaming`; the deployer's IAM policy allows runtimes and memories `<prefix>_*`."""
    return _underscored(project)


def agentcore_name(project: str, stack: str, role: str = "agent", max_length: int = AGENTCORE_NAME_MAX) -> str:
    """A valid AgentCore name such as `agentcore_streaming_dev_agent` (shorter to leave room for a suffix)."""
    source = f"{project}-{stack}-{role}"
    return _fit(_underscored(source), source, min(max_length, AGENTCORE_NAME_MAX), "_")


def metrics_namespace(project: str, stack: str) -> str:
    """The CloudWatch namespace of one stack's usage metrics, such as `agentcore-streaming/prod`.

    Pulumi project and stack names are letters, digits, '-', '_' and '.', all allowed in a namespace
    (printable ASCII, 255 at most); only the "AWS/" prefix is reserved for AWS's own services.
    """
    namespace = f"{project}/{stack}"[:255]
    return f"_{namespace}"[:255] if namespace.startswith("AWS/") else namespace


def _hyphenated(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", text.lower())
    return re.sub(r"-+", "-", name).strip("-")


def name_prefix(project: str) -> str:
    """What every physical name of the project starts with (before `-<stack>-`), such as
    `agentcore-streaming`; the deployer's IAM policy allows names matching `<prefix>-*`."""
    return _hyphenated(project)


def physical_name(project: str, stack: str, role: str, max_length: int = 64) -> str:
    """A lower-case, hyphenated name such as `agentcore-streaming-dev-proxy`."""
    source = f"{project}-{stack}-{role}"
    return _fit(_hyphenated(source), source, max_length, "-")
