"""The rules of the agent's environment that the stack's settings check too, before a deployment:
the agent reads these variables at start-up (agent/streaming_agent/settings.py) and the stack's
settings validate the config keys that become them (stack_config/settings.py, stack_config/guardrail.py).
Also Bedrock's tool name grammar, which the proxy checks the agent's tool events against and the
offline model the tools a prompt's directive names.
"""

from __future__ import annotations

import re

# AGENT_MAX_OUTPUT_TOKENS bounds one model call's answer (Bedrock's inferenceConfig.maxTokens). Unset,
# the model's own limit applies. The ceiling is the largest output any Claude 4.5 model allows.
MAX_OUTPUT_TOKENS_RANGE = (1, 64_000)
# AGENT_MAX_TOOL_CALLS: the most tool calls one turn may make (a runaway loop of tool calls), and
# the limit when it is unset (the agent's default and the stack's agentMaxToolCalls default).
MAX_TOOL_CALLS_CEILING = 1000
DEFAULT_MAX_TOOL_CALLS = 20
# Bedrock's GuardrailIdentifier (an id or the guardrail's ARN) and GuardrailVersion grammars.
GUARDRAIL_ID_PATTERN = re.compile(
    r"[a-z0-9]{1,64}|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+"
)
GUARDRAIL_VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
# Bedrock's ToolName grammar (botocore bedrock-runtime service model).
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
