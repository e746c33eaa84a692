"""One local stack per auth mode, shared by the tests that use one (each start costs seconds; registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.auth_support import API_KEYS, IAM_CREDENTIALS, JWT_SECRET
from local.stack import LocalStack, StackSettings


def start(**options: Any) -> LocalStack:
    return LocalStack(StackSettings(offline_delay_ms=0, **options)).start()


@pytest.fixture(scope="session")
def apikey_stack() -> Iterator[LocalStack]:
    stack = start(auth="apiKey", api_keys=API_KEYS)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def iam_stack() -> Iterator[LocalStack]:
    stack = start(auth="iam", iam_credentials=IAM_CREDENTIALS)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def cognito_stack() -> Iterator[LocalStack]:
    stack = start(auth="cognito", jwt_secret=JWT_SECRET)
    yield stack
    stack.stop()
