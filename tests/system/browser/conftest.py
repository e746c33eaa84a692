"""One headless Chromium for the whole run, or a skip (a failure under CI) when there is none; and
one recording API for the tests of ?api= links (tests/support/recording_api.py), emptied for each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.support.headless_chromium import Chromium, find_chromium
from tests.support.recording_api import RecordingApi


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        message = ("Chromium not found: install it (Debian: apt-get install -y chromium chromium-driver) "
                   "or set CHROMIUM_BINARY")
        if os.environ.get("CI"):
            pytest.fail(f"{message}. CI must run the browser tests.", pytrace=False)
        pytest.skip(message)
    with Chromium(binary) as browser:
        yield browser


@pytest.fixture(scope="session")
def recording_api() -> Iterator[RecordingApi]:
    with RecordingApi() as server:
        yield server


@pytest.fixture
def linked(recording_api: RecordingApi) -> RecordingApi:
    """The API a link's ?api= names: another origin, recording every request, allowing every origin."""
    recording_api.requests.clear()
    return recording_api
