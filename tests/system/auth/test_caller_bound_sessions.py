"""Sessions belong to callers: one client session id names a different AgentCore session per caller."""

from __future__ import annotations

import uuid

from tests.support.auth_support import API_KEYS, JWT_SECRET, proxy_log_records, standin_invocations

from client import stream_invoke
from local.gateway_auth import issue_local_token
from local.stack import LocalStack
from streaming_shared.jsonlog import session_hash

ALICE_KEY, BOB_KEY = list(API_KEYS)
EARLIER = "Earlier you said"


def turn(stack: LocalStack, prompt: str, session_id: str, **auth: object) -> tuple[str, str]:
    """(answer text, runtimeSessionId the stand-in saw) for one turn."""
    before = len(standin_invocations(stack))
    events = list(stream_invoke(stack.url, prompt, session_id=session_id, **auth))
    assert events[-1].name == "done", events[-1]
    invocations = standin_invocations(stack)[before:]
    assert len(invocations) == 1
    return "".join(e.data["text"] for e in events if e.name == "delta"), invocations[0]["runtimeSessionId"]


def test_two_api_keys_with_one_session_id_get_separate_conversations(apikey_stack: LocalStack) -> None:
    session_id = f"shared-{uuid.uuid4().hex[:8]}"
    alice_first, alice_runtime = turn(apikey_stack, "alice secret plan", session_id, api_key=ALICE_KEY)
    bob_first, bob_runtime = turn(apikey_stack, "bob asks", session_id, api_key=BOB_KEY)
    alice_again, alice_runtime_again = turn(apikey_stack, "alice continues", session_id, api_key=ALICE_KEY)

    assert alice_runtime != bob_runtime
    assert alice_runtime == alice_runtime_again
    # Bob's turn started a new conversation: no echo of Alice's first prompt.
    assert EARLIER not in bob_first and "alice secret plan" not in bob_first
    # Alice's own conversation went on.
    assert EARLIER in alice_again and "alice secret plan" in alice_again

    callers = {r.get("caller") for r in proxy_log_records(apikey_stack) if r.get("sessionHash") == session_hash(session_id)}
    assert callers == {"apikey:key-id-alice", "apikey:key-id-bob"}
    # Identities are logged; the key values never are.
    assert not any(key in line for line in apikey_stack.logs("proxy") for key in API_KEYS)


def test_two_cognito_subjects_with_one_session_id_get_separate_conversations(cognito_stack: LocalStack) -> None:
    session_id = f"shared-{uuid.uuid4().hex[:8]}"
    dave = issue_local_token(JWT_SECRET, "sub-dave")
    erin = issue_local_token(JWT_SECRET, "sub-erin")
    _, dave_runtime = turn(cognito_stack, "dave speaks first", session_id, bearer_token=dave)
    erin_answer, erin_runtime = turn(cognito_stack, "erin tries to read", session_id, bearer_token=erin)
    # A fresh token for the same subject is the same caller.
    dave_again, dave_runtime_again = turn(
        cognito_stack, "dave again", session_id, bearer_token=issue_local_token(JWT_SECRET, "sub-dave", expires_in=600)
    )
    assert dave_runtime != erin_runtime
    assert dave_runtime == dave_runtime_again
    assert EARLIER not in erin_answer and "dave speaks first" not in erin_answer
    assert "dave speaks first" in dave_again
