"""Drive the distribution's headless Chromium over the Chrome DevTools Protocol (CDP).

No browser download and no WebDriver: Chromium is started with --remote-debugging-port=0, writes
the port it chose to DevToolsActivePort in its profile directory, and we talk CDP over one
websocket (the `websockets` package) with flattened target sessions. Only the handful of commands
the page tests need are wrapped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
# The brief's flags, plus a fixed window and no proxy: every page and API here is on loopback.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--window-size=1100,800",
)
START_TIMEOUT_SECONDS = 30.0
COMMAND_TIMEOUT_SECONDS = 30.0


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """CHROMIUM_BINARY if set, else the first Chromium-like program on PATH."""
    configured = os.environ.get("CHROMIUM_BINARY")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """A headless Chromium with a throw-away profile; `new_page()` opens a tab to drive."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.profile = Path(tempfile.mkdtemp(prefix="chat-page-chromium-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.connection: Cdp | None = None
        self.websocket_context = contextlib.ExitStack()

    def __enter__(self) -> Chromium:
        log = open(self.profile / "chromium.log", "wb")  # a file, not a pipe: nobody must drain it
        try:
            self.process = subprocess.Popen(
                [self.binary, *CHROMIUM_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                 "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            websocket = self.websocket_context.enter_context(
                connect(self._browser_websocket_url(), max_size=None, proxy=None, open_timeout=START_TIMEOUT_SECONDS)
            )
            self.connection = Cdp(websocket)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _browser_websocket_url(self) -> str:
        active_port = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BrowserError(f"Chromium exited with {self.process.returncode}:\n{self.log_tail()}")
            lines = active_port.read_text().splitlines() if active_port.exists() else []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
            time.sleep(0.05)
        raise BrowserError(f"Chromium did not open its DevTools port within {START_TIMEOUT_SECONDS:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.profile / "chromium.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def new_page(self, width: int = 1100, height: int = 800, mobile: bool = False) -> Page:
        """A tab of this size; `mobile` emulates a phone's viewport (the page's viewport meta, overlay scrollbars)."""
        assert self.connection is not None
        target_id = self.connection.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self.connection.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        page = Page(self.connection, target_id, session_id)
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        return page

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            try:
                self.connection.send("Browser.close", timeout=5)
            except Exception:
                pass  # the browser may already be gone; the kill below still runs
        self.websocket_context.close()
        if self.process is not None:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(5)
        shutil.rmtree(self.profile, ignore_errors=True)


class Cdp:
    """One CDP websocket: commands answered in order, events kept for whoever asks."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None,
             timeout: float = COMMAND_TIMEOUT_SECONDS) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self.websocket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {method} within {timeout:g} s")
            reply = json.loads(self.websocket.recv(timeout=remaining))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self.events.append(reply)



class Page:
    def __init__(self, connection: Cdp, target_id: str, session_id: str) -> None:
        self.connection = connection
        self.target_id = target_id
        self.session_id = session_id

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.connection.send(method, params, self.session_id)

    def events(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.connection.events
                if event.get("sessionId") == self.session_id and event.get("method") == method]

    def navigate(self, url: str, timeout: float = 20.0) -> None:
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"could not open {url}: {result['errorText']}")
        self.wait_for("document.readyState === 'complete'", timeout, what=f"{url} to load")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"page script failed: {description}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float, what: str, interval: float = 0.05) -> Any:
        """Poll `expression` until it is truthy; return its value."""
        return poll(lambda: self.evaluate(expression), timeout, what, interval, self.problems)

    def focus(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")

    def type_text(self, text: str) -> None:
        # Input.insertText goes through the browser's input path, as typing (or pasting) would.
        self.send("Input.insertText", {"text": text})

    def press_enter(self, shift: bool = False) -> None:
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13,
               "modifiers": 8 if shift else 0}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **key})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **key})

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def problems(self) -> list[str]:
        """Uncaught exceptions and console errors so far (CSP violations show up here too)."""
        found = [str(event["exceptionDetails"].get("exception", {}).get("description")
                     or event["exceptionDetails"].get("text"))
                 for event in self.events("Runtime.exceptionThrown")]
        found += [f"{entry['entry'].get('source')}: {entry['entry'].get('text')}" for entry in self.events("Log.entryAdded")
                  if entry["entry"].get("level") == "error"]
        found += [" ".join(str(arg.get("value", arg.get("description", ""))) for arg in call.get("args", []))
                  for call in self.events("Runtime.consoleAPICalled") if call.get("type") == "error"]
        return found

    def close(self) -> None:
        self.connection.send("Target.closeTarget", {"targetId": self.target_id})


def poll(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.05,
         context: Callable[[], list[str]] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"; page problems: {context()}" if context is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last value {value!r}){extra}")
        time.sleep(interval)


def open_page(chromium: Chromium, url: str | None, width: int = 1100, height: int = 800,
              mobile: bool = False) -> Iterator[Page]:
    """A tab on `url` with no saved settings (so config.js names the API); fails the test if the page threw."""
    assert url is not None
    tab = chromium.new_page(width, height, mobile)
    try:
        tab.navigate(url)
        tab.evaluate("localStorage.clear()")
        tab.navigate(url)
        yield tab
        exceptions = [event["exceptionDetails"] for event in tab.events("Runtime.exceptionThrown")]
        assert not exceptions, f"the page threw: {exceptions}"
    finally:
        tab.close()
