"""Durable conversation memory: an AgentCore Memory the agent's Strands session manager writes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from stack_config.naming import AGENTCORE_NAME_MAX

# Bytes of randomness in the memory name's suffix: 4 bytes, 8 hex characters.
NAME_SUFFIX_BYTES = 4
# "_" plus the hex suffix; the base name must leave this much room under AgentCore's 48 characters.
NAME_SUFFIX_LENGTH = 1 + 2 * NAME_SUFFIX_BYTES
NAME_BASE_MAX_LENGTH = AGENTCORE_NAME_MAX - NAME_SUFFIX_LENGTH


@dataclass(frozen=True)
class MemoryStore:
    """An AgentCore Memory as its users see it: the id the agent calls with, the ARN grants name."""

    id: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass
class AgentMemoryArgs:
    # Base of the AgentCore Memory name; same rule as runtime names, [a-zA-Z][a-zA-Z0-9_]{0,47}
    # (stack_config/naming.agentcore_name), so never Pulumi's hyphenated auto-name. The component
    # appends "_<8 hex>", so at most NAME_BASE_MAX_LENGTH (39) characters.
    memory_name_base: str
    # Days the service keeps raw conversation events (7..365).
    event_expiry_days: int
    # Protect the memory from `pulumi destroy` and keep it when removed from the program (prod):
    # it holds users' conversations.
    protect_stateful_resources: bool


class AgentMemory(pulumi.ComponentResource):
    memory_id: pulumi.Output[str]
    memory_arn: pulumi.Output[str]
    # Both as one object, for the agent runtime.
    store: MemoryStore

    def __init__(self, name: str, args: AgentMemoryArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("agentcore-streaming:agent_memory:AgentMemory", name, None, opts)
        protect = args.protect_stateful_resources

        if len(args.memory_name_base) > NAME_BASE_MAX_LENGTH:
            raise ValueError(f"memory name base {args.memory_name_base!r} leaves no room for the suffix")

        # A random suffix, drawn once per life of the stack: a protected memory is retained by
        # `pulumi destroy` (it holds users' conversations), so with a fixed name the next
        # `pulumi up` of the same stack would fail on a name in use. The suffix lives in the
        # stack's state: updates keep it, only a new stack (or one destroyed and re-created) draws
        # another.
        suffix = random.RandomId(
            f"{name}-name-suffix",
            byte_length=NAME_SUFFIX_BYTES,
            opts=pulumi.ResourceOptions(parent=self),
        )
        memory_name = suffix.hex.apply(lambda hex_suffix: f"{args.memory_name_base}_{hex_suffix}")

        # Short-term memory only (no strategies): the session manager stores and replays the
        # conversation's events. Without strategies no model runs on the data, so the memory
        # needs no execution role; encryption is the service's own key.
        memory = aws.bedrock.AgentcoreMemory(
            f"{name}-memory",
            name=memory_name,
            description=f"Conversation history of the streaming agent ({args.memory_name_base})",
            event_expiry_duration=args.event_expiry_days,
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )

        # The resource id is the memory id the data-plane calls take (e.g. name-AbC123xyz).
        self.memory_id = memory.id
        self.memory_arn = memory.arn
        self.store = MemoryStore(id=self.memory_id, arn=self.memory_arn)
        self.register_outputs({"memoryId": self.memory_id, "memoryArn": self.memory_arn})
