"""Client for the streaming agent API: ``stream_invoke`` yields events, ``stop_turn`` stops a turn;
``python -m client`` prints answers."""

from client.api import Event, InvokeError, StreamBrokenError, stop_turn, stream_invoke
from client.sse import SseComment, SseMessage, SseParser

__all__ = ["Event", "InvokeError", "SseComment", "SseMessage", "SseParser", "StreamBrokenError", "stop_turn", "stream_invoke"]
