"""A small in-test fake of the AgentCore Memory data plane (CreateEvent, ListEvents, GetEvent, DeleteEvent).

Real botocore clients reach it over loopback through AWS_ENDPOINT_URL_BEDROCK_AGENTCORE, so the
Strands session manager runs unmodified. Paths and bodies follow botocore's bedrock-agentcore
service model (rest-json, epoch-second timestamps); ListEvents answers newest first, as the
session manager's converter expects (it reverses the list).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


from tests.support.servers import ServerThread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SESSION_PATH = "/memories/{memoryId}/actor/{actorId}/sessions/{sessionId}"


@dataclass
class FakeMemory:
    events: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def in_session(self, params: dict[str, str]) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if (event["memoryId"], event["actorId"], event["sessionId"])
            == (params["memoryId"], params["actorId"], params["sessionId"])
        ]

    async def create_event(self, request: Request) -> Response:
        body = await request.json()
        sequence = next(self._ids)
        event = {
            "memoryId": request.path_params["memoryId"],
            "actorId": body["actorId"],
            "sessionId": body["sessionId"],
            "eventId": f"{sequence:019d}#fake",
            "eventTimestamp": body["eventTimestamp"],
            "payload": body["payload"],
            "branch": body.get("branch") or {"name": "main"},
            "metadata": body.get("metadata") or {},
            "_sequence": sequence,
        }
        self.events.append(event)
        self.calls.append(("CreateEvent", {"actorId": event["actorId"], "sessionId": event["sessionId"]}))
        return JSONResponse({"event": public(event)}, status_code=201)

    async def list_events(self, request: Request) -> Response:
        body = await request.json()
        params = dict(request.path_params)
        self.calls.append(("ListEvents", params))
        selected = [event for event in self.in_session(params) if matches(event, body.get("filter") or {})]
        selected.sort(key=lambda event: (event["eventTimestamp"], event["_sequence"]), reverse=True)
        selected = selected[: int(body.get("maxResults") or 100)]
        include_payloads = body.get("includePayloads", True)
        events = [public(event, include_payloads) for event in selected]
        return JSONResponse({"events": events})

    async def get_event(self, request: Request) -> Response:
        params = dict(request.path_params)
        for event in self.in_session(params):
            if event["eventId"] == params["eventId"]:
                return JSONResponse({"event": public(event)})
        return not_found()

    async def delete_event(self, request: Request) -> Response:
        params = dict(request.path_params)
        for event in self.in_session(params):
            if event["eventId"] == params["eventId"]:
                self.events.remove(event)
                return JSONResponse({"eventId": event["eventId"]})
        return not_found()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/memories/{memoryId}/events", self.create_event, methods=["POST"]),
                Route(SESSION_PATH, self.list_events, methods=["POST"]),
                Route(SESSION_PATH + "/events/{eventId}", self.get_event, methods=["GET"]),
                Route(SESSION_PATH + "/events/{eventId}", self.delete_event, methods=["DELETE"]),
            ]
        )


def public(event: dict[str, Any], include_payload: bool = True) -> dict[str, Any]:
    shown = {key: value for key, value in event.items() if not key.startswith("_")}
    if not include_payload:
        shown.pop("payload", None)
    return shown


def not_found() -> Response:
    return JSONResponse(
        {"message": "Event not found"}, status_code=404, headers={"x-amzn-ErrorType": "ResourceNotFoundException"}
    )


def matches(event: dict[str, Any], event_filter: dict[str, Any]) -> bool:
    for expression in event_filter.get("eventMetadata") or []:
        key = expression["left"]["metadataKey"]
        operator = expression["operator"]
        value = event["metadata"].get(key)
        if operator == "EXISTS" and value is None:
            return False
        if operator == "NOT_EXISTS" and value is not None:
            return False
        if operator == "EQUALS_TO" and value != expression["right"]["metadataValue"]:
            return False
    return True


@contextmanager
def serving(memory: FakeMemory) -> Iterator[str]:
    """Serve the fake on 127.0.0.1:<ephemeral>; yield its base URL."""
    with ServerThread(memory.app(), "fake memory") as server:
        yield server.url
