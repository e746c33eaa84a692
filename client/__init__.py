"""Client for the streaming agent API: ``stream_invoke`` yields events; ``python -m client`` prints answers."""

from client.api import Event, InvokeError, StreamBrokenError, stream_invoke
from client.sse import SseComment, SseMessage, SseParser

__all__ = ["Event", "InvokeError", "SseComment", "SseMessage", "SseParser", "StreamBrokenError", "stream_invoke"]
