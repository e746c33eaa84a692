"""The agent's `tool` events as the client's: only the contract's fields, each checked. Pure.

The agent reports a tool call as {"type": "tool", "toolUseId", "name", "status"}; with
AGENT_STREAM_TOOL_CONTENT on it adds the tool's `input` (on `started`) and `result` (its text, on
`finished` or `failed`). Anything else the agent put in is left out, and an event whose id, name or
status is not well formed is dropped rather than forwarded half checked.
"""

from __future__ import annotations

import re
from typing import Any

from streaming_shared.agent_config import TOOL_NAME

TOOL_STATUSES = ("started", "finished", "failed")
# Bedrock's ToolUseId grammar (botocore bedrock-runtime service model); its ToolName is TOOL_NAME.
TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")


def tool_event_data(value: dict[str, Any]) -> dict[str, Any] | None:
    """The data of the client's `tool` event for the agent's, or None when it is malformed."""
    tool_use_id, name, status = value.get("toolUseId"), value.get("name"), value.get("status")
    if not (isinstance(tool_use_id, str) and TOOL_USE_ID.fullmatch(tool_use_id)):
        return None
    if not (isinstance(name, str) and TOOL_NAME.fullmatch(name)) or status not in TOOL_STATUSES:
        return None
    data: dict[str, Any] = {"toolUseId": tool_use_id, "name": name, "status": status}
    if isinstance(value.get("input"), dict):
        data["input"] = value["input"]
    if isinstance(value.get("result"), str):
        data["result"] = value["result"]
    return data
