"""Running `python -m client` in tests: in-process (fast), as a child process, on a pseudo-terminal, and a fake `pulumi`."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from client.__main__ import parse_arguments, run

REPO_ROOT = Path(__file__).resolve().parents[2]
# The developer's client settings, and PYTHONUNBUFFERED: the client must flush stdout itself.
CHILD_VARIABLES_REMOVED = (
    "AGENTCORE_STREAMING_URL", "AGENTCORE_STREAMING_API_KEY", "AGENTCORE_STREAMING_TOKEN", "PYTHONUNBUFFERED"
)


class FakeStdin(io.StringIO):
    """stdin for run(): its text, and whether it claims to be a terminal."""

    def __init__(self, text: str = "", *, terminal: bool = False) -> None:
        super().__init__(text)
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def run_cli(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    """run() as main() calls it, with stdout and stderr captured; stdin is an empty pipe unless given."""
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run(parse_arguments(list(argv)), stdout, stderr, FakeStdin() if stdin is None else stdin)
    return status, stdout.getvalue(), stderr.getvalue()


def child_environment(**extra: str) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in CHILD_VARIABLES_REMOVED}
    return {**environment, **extra}


def client_process(*argv: str, **options: Any) -> subprocess.Popen[bytes]:
    """`python -m client ARGV` started from the repository root, as the README runs it."""
    options.setdefault("env", child_environment())
    return subprocess.Popen([sys.executable, "-m", "client", *argv], cwd=REPO_ROOT, **options)


def run_client(*argv: str, input_text: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client", *argv],
        cwd=REPO_ROOT,
        env=child_environment(),
        input=input_text,
        stdin=None if input_text is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# The child makes the pseudo-terminal its controlling terminal (it is a session leader through
# start_new_session), so Ctrl-C typed into the terminal reaches it as SIGINT, exactly as in a shell;
# then it becomes `python -m client`.
_ON_A_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'client', *sys.argv[1:]])"
)


class Terminal:
    """`python -m client ARGV` on a pseudo-terminal: type into it, read what it shows."""

    def __init__(self, *argv: str) -> None:
        controller, terminal = os.openpty()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _ON_A_TERMINAL, *argv],
                stdin=terminal, stdout=terminal, stderr=terminal,
                cwd=REPO_ROOT, env=child_environment(TERM="dumb"), start_new_session=True,
            )
        finally:
            os.close(terminal)
        self.controller = controller
        self.shown = b""
        self.read_up_to = 0

    def type(self, keys: bytes) -> None:
        os.write(self.controller, keys)

    def expect(self, text: str, timeout: float = 20) -> str:
        """Wait until ``text`` shows after what earlier calls matched; return what showed up to its end."""
        wanted = text.encode()
        deadline = time.monotonic() + timeout
        while (found := self.shown.find(wanted, self.read_up_to)) == -1:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{text!r} did not show; the terminal shows:\n{self.shown.decode(errors='replace')}")
        start, self.read_up_to = self.read_up_to, found + len(wanted)
        return self.shown[start:self.read_up_to].decode(errors="replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.controller], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.controller, 65536)
        except OSError:  # EIO: the child exited and closed the terminal
            return False
        self.shown += chunk
        return bool(chunk)

    def wait(self, timeout: float = 20) -> int:
        status = self.process.wait(timeout)
        while self._read(0.05):  # what it showed last
            pass
        return status

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.controller)


class FakePulumi:
    """A `pulumi` executable in a folder of its own: records its argv, prints canned outputs or fails like pulumi."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.argv_file = folder / "argv.json"
        self.answer_file = folder / "answer.json"
        executable = folder / "pulumi"
        executable.write_text(
            f"#!{sys.executable}\n"
            "import json, pathlib, sys\n"
            "here = pathlib.Path(__file__).parent\n"
            "(here / 'argv.json').write_text(json.dumps(sys.argv[1:]))\n"
            "answer = json.loads((here / 'answer.json').read_text())\n"
            "sys.stdout.write(answer['stdout'])\n"
            "sys.stderr.write(answer['stderr'])\n"
            "sys.exit(answer['status'])\n"
        )
        executable.chmod(0o755)
        self.outputs({})

    def outputs(self, outputs: dict[str, Any]) -> None:
        """Answer like `pulumi stack output --json` for a stack with these outputs."""
        self.answer(json.dumps(outputs, indent=2) + "\n", "", 0)

    def answer(self, stdout: str, stderr: str, status: int) -> None:
        self.answer_file.write_text(json.dumps({"stdout": stdout, "stderr": stderr, "status": status}))

    @property
    def argv(self) -> list[str] | None:
        return json.loads(self.argv_file.read_text()) if self.argv_file.exists() else None
