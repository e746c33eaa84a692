"""Bedrock guardrail: the `guardrail` setting's variants and their validation (the component that
creates one is components/guardrail.py).

The setting is one object (`agentcore-streaming:guardrail`), in one of three shapes:

    {enabled: false}                                      no guardrail (the default)
    {enabled: true, contentFilters: [...], deniedTopics: [...], piiEntities: [...],
     blockedInputMessage: "...", blockedOutputMessage: "..."}   a guardrail this stack creates
    {id: "abc123def456", version: "3"}                    an existing guardrail (enabled implied)

`parse_guardrail` turns it into one of the types below or raises GuardrailConfigError naming the
field (`contentFilters[2].type`) and the values allowed; stack_config/settings.py prefixes the full
config key. The allowed values are the Bedrock control plane's (botocore's `bedrock` service
model: GuardrailContentFilterType, GuardrailFilterStrength, GuardrailPiiEntityType,
GuardrailSensitiveInformationAction, GuardrailTopicName, GuardrailVersion, GuardrailIdentifier).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Optional, Union

# The grammars of AGENT_GUARDRAIL_ID / _VERSION, which the agent reads, have one home.
from streaming_shared.agent_config import GUARDRAIL_ID_PATTERN, GUARDRAIL_VERSION_PATTERN

CONTENT_FILTER_TYPES: tuple[str, ...] = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK")
FILTER_STRENGTHS: tuple[str, ...] = ("NONE", "LOW", "MEDIUM", "HIGH")
# The prompt-attack filter judges prompts only: Bedrock refuses any output strength but NONE
# (hashicorp/terraform-provider-awscc#1905).
INPUT_ONLY_FILTERS: tuple[str, ...] = ("PROMPT_ATTACK",)
PII_ENTITY_TYPES: tuple[str, ...] = (
    "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD",
    "PHONE", "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER", "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER", "VEHICLE_IDENTIFICATION_NUMBER",
)
PII_ACTIONS: tuple[str, ...] = ("BLOCK", "ANONYMIZE", "NONE")
MAX_CONTENT_FILTERS = 6
MAX_DENIED_TOPICS = 30
MAX_TOPIC_EXAMPLES = 5
TOPIC_NAME_PATTERN = re.compile(r"[0-9a-zA-Z\-_ !?.]{1,100}")
TOPIC_DEFINITION_MAX = 200
TOPIC_EXAMPLE_MAX = 100
BLOCKED_MESSAGE_MAX = 500
# A guardrail version is a number from 1 or the working draft.
DRAFT_VERSION = "DRAFT"
VERSION_RULE = "a version number (1, 2, ...) or 'DRAFT'"
ID_RULE = "a guardrail id (lower-case letters and digits) or its ARN (arn:aws:bedrock:<region>:<account>:guardrail/<id>)"

# What Bedrock answers instead of a blocked prompt or answer (blockedInputMessaging /
# blockedOutputsMessaging). The client never sees it: the agent turns an intervention into the
# proxy's CONTENT_BLOCKED error, whose message is the proxy's own.
DEFAULT_BLOCKED_INPUT_MESSAGE = "Sorry, this request was blocked by the content guardrail."
DEFAULT_BLOCKED_OUTPUT_MESSAGE = "Sorry, the answer was blocked by the content guardrail."

CREATED_KEYS = ("enabled", "contentFilters", "deniedTopics", "piiEntities", "blockedInputMessage",
                "blockedOutputMessage")
EXISTING_KEYS = ("enabled", "id", "version")


class GuardrailConfigError(ValueError):
    """A bad `guardrail` field: `field` is its path inside the object ("" for the object itself)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ContentFilter:
    type: str
    input_strength: str
    output_strength: str


@dataclass(frozen=True)
class DeniedTopic:
    name: str
    definition: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class PiiEntity:
    type: str
    action: str


@dataclass(frozen=True)
class NewGuardrail:
    """A guardrail (and a numbered version of it) that the stack creates and owns."""

    content_filters: tuple[ContentFilter, ...]
    denied_topics: tuple[DeniedTopic, ...]
    pii_entities: tuple[PiiEntity, ...]
    blocked_input_message: str = DEFAULT_BLOCKED_INPUT_MESSAGE
    blocked_output_message: str = DEFAULT_BLOCKED_OUTPUT_MESSAGE

    def fingerprint(self) -> str:
        """A short hash of the policies: a change publishes a new guardrail version."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ExistingGuardrail:
    """A guardrail managed elsewhere: its id (or ARN) and the version the agent applies."""

    identifier: str
    version: str

    def arn(self, partition: str, region: str, account_id: str) -> str:
        if self.identifier.startswith("arn:"):
            return self.identifier
        return f"arn:{partition}:bedrock:{region}:{account_id}:guardrail/{self.identifier}"


Guardrail = Union[NewGuardrail, ExistingGuardrail]


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(repr(value) for value in values)


def _object(value: Any, field: str, allowed_keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GuardrailConfigError(field, f"must be an object with keys {', '.join(allowed_keys)}, got {value!r}")
    unknown = sorted(str(key) for key in value if key not in allowed_keys)
    if unknown:
        raise GuardrailConfigError(
            f"{field}.{unknown[0]}" if field else unknown[0],
            f"is not a known key; allowed keys: {', '.join(allowed_keys)}",
        )
    return value


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise GuardrailConfigError(field, f"must be one of {_choices(allowed)}, got {value!r}")
    return value


def _text(value: Any, field: str, maximum: int, pattern: Optional[re.Pattern[str]] = None, rule: str = "") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > maximum:
        raise GuardrailConfigError(field, f"must be a non-empty string of at most {maximum} characters, got {value!r}")
    if pattern is not None and not pattern.fullmatch(value):
        raise GuardrailConfigError(field, f"must be {rule}, got {value!r}")
    return value


def _list(value: Any, field: str, maximum: Optional[int] = None) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise GuardrailConfigError(field, f"must be a list, got {value!r}")
    if maximum is not None and len(value) > maximum:
        raise GuardrailConfigError(field, f"may hold at most {maximum} entries, got {len(value)}")
    return value


def _content_filters(value: Any) -> tuple[ContentFilter, ...]:
    filters: list[ContentFilter] = []
    for index, entry in enumerate(_list(value, "contentFilters", MAX_CONTENT_FILTERS)):
        field = f"contentFilters[{index}]"
        entry = _object(entry, field, ("type", "inputStrength", "outputStrength"))
        kind = _choice(entry.get("type"), f"{field}.type", CONTENT_FILTER_TYPES)
        input_strength = _choice(entry.get("inputStrength"), f"{field}.inputStrength", FILTER_STRENGTHS)
        output_allowed = ("NONE",) if kind in INPUT_ONLY_FILTERS else FILTER_STRENGTHS
        output_strength = _choice(entry.get("outputStrength", "NONE" if kind in INPUT_ONLY_FILTERS else None),
                                  f"{field}.outputStrength", output_allowed)
        if any(existing.type == kind for existing in filters):
            raise GuardrailConfigError(f"{field}.type", f"{kind!r} is listed twice; one entry per filter type")
        filters.append(ContentFilter(kind, input_strength, output_strength))
    return tuple(filters)


def _denied_topics(value: Any) -> tuple[DeniedTopic, ...]:
    topics: list[DeniedTopic] = []
    for index, entry in enumerate(_list(value, "deniedTopics", MAX_DENIED_TOPICS)):
        field = f"deniedTopics[{index}]"
        entry = _object(entry, field, ("name", "definition", "examples"))
        name = _text(entry.get("name"), f"{field}.name", 100, TOPIC_NAME_PATTERN,
                     "1-100 letters, digits, spaces or - _ ! ? .")
        definition = _text(entry.get("definition"), f"{field}.definition", TOPIC_DEFINITION_MAX)
        examples = tuple(
            _text(example, f"{field}.examples[{position}]", TOPIC_EXAMPLE_MAX)
            for position, example in enumerate(_list(entry.get("examples"), f"{field}.examples", MAX_TOPIC_EXAMPLES))
        )
        topics.append(DeniedTopic(name, definition, examples))
    return tuple(topics)


def _pii_entities(value: Any) -> tuple[PiiEntity, ...]:
    entities: list[PiiEntity] = []
    for index, entry in enumerate(_list(value, "piiEntities")):
        field = f"piiEntities[{index}]"
        entry = _object(entry, field, ("type", "action"))
        kind = _choice(entry.get("type"), f"{field}.type", PII_ENTITY_TYPES)
        action = _choice(entry.get("action"), f"{field}.action", PII_ACTIONS)
        if any(existing.type == kind for existing in entities):
            raise GuardrailConfigError(f"{field}.type", f"{kind!r} is listed twice; one entry per entity type")
        entities.append(PiiEntity(kind, action))
    return tuple(entities)


def _enabled(document: dict[str, Any]) -> bool:
    enabled = document.get("enabled", "id" in document)
    if isinstance(enabled, str) and enabled.strip().lower() in ("true", "false"):
        enabled = enabled.strip().lower() == "true"
    if not isinstance(enabled, bool):
        raise GuardrailConfigError("enabled", f"must be true or false, got {enabled!r}")
    return enabled


def parse_guardrail(value: Any, production: bool) -> Optional[Guardrail]:
    """The `guardrail` setting (a JSON string as Pulumi hands it over, or a dict) as a type, or None when off."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise GuardrailConfigError("", f"must be an object (YAML mapping), got {value!r}") from None
    if value is None:
        return None
    document = _object(value, "", tuple(dict.fromkeys(CREATED_KEYS + EXISTING_KEYS)))
    if not _enabled(document):
        # Every field is still checked, so a typo never waits for the day the guardrail is switched on.
        _parse_enabled(document, production)
        return None
    return _parse_enabled(document, production)


def _parse_enabled(document: dict[str, Any], production: bool) -> Optional[Guardrail]:
    if "id" in document or "version" in document:
        mixed = [key for key in document if key not in EXISTING_KEYS]
        if mixed:
            raise GuardrailConfigError(mixed[0], "cannot be combined with id/version: either name an existing "
                                                 "guardrail (id, version) or describe one to create")
        return _existing(document, production)
    content_filters = _content_filters(document.get("contentFilters"))
    denied_topics = _denied_topics(document.get("deniedTopics"))
    pii_entities = _pii_entities(document.get("piiEntities"))
    if document.get("enabled") is True and not (content_filters or denied_topics or pii_entities):
        raise GuardrailConfigError("contentFilters", "a created guardrail needs at least one policy: "
                                                     "contentFilters, deniedTopics or piiEntities")
    return NewGuardrail(
        content_filters=content_filters,
        denied_topics=denied_topics,
        pii_entities=pii_entities,
        blocked_input_message=_text(document.get("blockedInputMessage", DEFAULT_BLOCKED_INPUT_MESSAGE),
                                    "blockedInputMessage", BLOCKED_MESSAGE_MAX),
        blocked_output_message=_text(document.get("blockedOutputMessage", DEFAULT_BLOCKED_OUTPUT_MESSAGE),
                                     "blockedOutputMessage", BLOCKED_MESSAGE_MAX),
    )


def _existing(document: dict[str, Any], production: bool) -> ExistingGuardrail:
    identifier = document.get("id")
    if not isinstance(identifier, str) or not (
        GUARDRAIL_ID_PATTERN.fullmatch(identifier)
    ):
        raise GuardrailConfigError("id", f"must be {ID_RULE}, got {identifier!r}")
    version = document.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)  # YAML reads `version: 3` as a number
    if not isinstance(version, str) or not GUARDRAIL_VERSION_PATTERN.fullmatch(version):
        raise GuardrailConfigError("version", f"must be {VERSION_RULE}, got {version!r}")
    if production and version == DRAFT_VERSION:
        # The draft changes whenever someone edits the guardrail in the console: a production stack
        # must pin what it was reviewed with.
        raise GuardrailConfigError("version", "must be a published version number in a production stack "
                                              "('DRAFT' changes with every edit of the guardrail)")
    return ExistingGuardrail(identifier, version)
