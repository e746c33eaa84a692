from __future__ import annotations

import threading
import time

import httpx
from tests.support.agent_test_support import invoke, running_agent, session_id


def ping(base_url: str) -> dict[str, object]:
    response = httpx.get(f"{base_url}/ping", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_ping_is_busy_during_a_turn_and_its_timestamp_moves_only_on_change() -> None:
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0"}) as url:
        idle = ping(url)
        # time_of_last_update has whole seconds, so wait past one to see whether it moves.
        time.sleep(1.1)
        still_idle = ping(url)
        assert idle["status"] == still_idle["status"] == "Healthy"
        assert still_idle["time_of_last_update"] == idle["time_of_last_update"]

        first_piece = threading.Event()
        turn_done = threading.Event()

        def run_turn() -> None:
            invoke(url, "[[pieces:5]] [[delay-ms:1000]]", session_id("ping"),
                   on_event=lambda event: first_piece.set())
            turn_done.set()

        thread = threading.Thread(target=run_turn, daemon=True)
        thread.start()
        assert first_piece.wait(timeout=30)
        busy = ping(url)
        time.sleep(1.1)
        still_busy = ping(url)
        assert not turn_done.is_set(), "the turn should still be running; the test needs it busy"
        assert busy["status"] == still_busy["status"] == "HealthyBusy"
        assert busy["time_of_last_update"] > idle["time_of_last_update"]  # type: ignore[operator]
        assert still_busy["time_of_last_update"] == busy["time_of_last_update"]

        thread.join(timeout=60)
        assert turn_done.is_set()
        after = ping(url)
        time.sleep(1.1)
        still_after = ping(url)
        assert after["status"] == still_after["status"] == "Healthy"
        assert after["time_of_last_update"] > busy["time_of_last_update"]  # type: ignore[operator]
        assert still_after["time_of_last_update"] == after["time_of_last_update"]


def test_a_failed_turn_does_not_leave_the_agent_busy() -> None:
    with running_agent({"OFFLINE_MODEL_DELAY_MS": "0"}) as url:
        invoke(url, "[[fail-after:1]]", session_id("failed-ping"))
        invoke(url, "", session_id("invalid-ping"))
        assert ping(url)["status"] == "Healthy"
