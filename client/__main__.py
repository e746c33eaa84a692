"""python -m client: stream the agent's answer to a prompt, or hold a conversation (--chat). See --help.

The answer goes to stdout as it streams (or, with --json, one JSON object per event); everything
else (`session: <id>`, errors, hints, the chat prompt) goes to stderr, so stdout stays the answer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from client.api import DEFAULT_TIMEOUT_SECONDS, InvokeError, StreamBrokenError, invoke_target, stream_invoke
from client.auth import AuthConfigurationError, default_aws_credentials
from client.hints import malformed_url, refused, unreachable
from client.output import JsonEvents, Output, OutputClosed, TextAnswer
from client.stack import StackOutputError, read_stack_outputs

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "AGENTCORE_STREAMING_URL"
API_KEY_VARIABLE = "AGENTCORE_STREAMING_API_KEY"
TOKEN_VARIABLE = "AGENTCORE_STREAMING_TOKEN"
EXIT_DONE = 0
EXIT_AGENT_ERROR = 1
EXIT_REQUEST_FAILED = 2
EXIT_USAGE = 2  # argparse's own status for a usage error
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C
# 128 + SIGPIPE: what the shell shows for `yes | head`. The client exits with it itself rather than
# dying of SIGPIPE, because SIGPIPE's default action would also kill it on a socket write.
EXIT_OUTPUT_CLOSED = 141
CHAT_PROMPT = "you> "

EPILOG = f"""\
examples:
  python -m client "Hello"                        the local stack (python3 dev.py local), {DEFAULT_URL}
  python -m client "Hello" --stack dev            a deployed stack: URL, auth mode, region and API key
                                                  from `pulumi stack output --json --show-secrets`
  python -m client "Hello" --url "$(pulumi stack output apiUrl)" --api-key KEY
  echo "Summarise this" | python -m client        the prompt from stdin (also: python -m client - < notes.txt)
  python -m client "Hello" --json | jq -j 'select(.event == "delta") | .data.text'
  python -m client --chat --stack dev             a conversation in one session: Ctrl-D leaves,
                                                  Ctrl-C stops an answer (at the prompt: leaves)

--json prints one line per event, flushed as it arrives, with the event's data exactly as received
(fields this client does not know, such as done's usage, pass through):
  {{"event": "start", "data": {{"sessionId": "...", "requestId": "..."}}}}
  {{"event": "delta", "data": {{"text": "Hel"}}}}
  {{"event": "error", "data": {{"code": "...", "message": "..."}}}}   (then the stream ends)
  {{"event": "done", "data": {{"sessionId": "...", ...}}}}
A request refused before the stream (an HTTP error) prints nothing on stdout: see stderr and the status.

Settings come from the flags first, then the --stack outputs, then the environment
({URL_VARIABLE}, {API_KEY_VARIABLE}, {TOKEN_VARIABLE}).

exit status:
  0    the answer ended with done (--chat: left with Ctrl-D)
  1    the agent reported an error event
  2    a usage error, a malformed URL, unreadable stack outputs, an HTTP error (401, 403, 429, ...),
       or the connection failed or broke
  130  interrupted with Ctrl-C
  141  stdout was closed before the answer ended (e.g. `| head`), as the shell shows SIGPIPE
"""


class UsageError(Exception):
    """The command line cannot work as given; the message says why, the hint (if any) what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m client",
        description="Stream an answer from the agent API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("prompt", nargs="?", help="the prompt; '-' or absent (with stdin not a terminal): read stdin")
    parser.add_argument(
        "--url", help=f"the stack output apiUrl (base) or invokeUrl (ending in /invoke); env {URL_VARIABLE}, default {DEFAULT_URL}"
    )
    parser.add_argument("--stack", metavar="NAME", help="read the URL and how to authenticate from this Pulumi stack's outputs")
    parser.add_argument("--session-id", help="continue this conversation")
    parser.add_argument("--api-key", help=f"sent as x-api-key (env {API_KEY_VARIABLE})")
    authorization = parser.add_mutually_exclusive_group()
    authorization.add_argument(
        "--iam", action="store_true", help="sign with SigV4 (service execute-api) using the standard AWS credential chain"
    )
    authorization.add_argument("--token", help=f"Cognito ID token, sent as Authorization: Bearer (env {TOKEN_VARIABLE})")
    parser.add_argument("--region", help="region for --iam when neither the URL nor the stack tells it")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="socket timeout, seconds")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print one JSON object per event (see below)")
    mode.add_argument("--chat", action="store_true", help="a conversation: read prompts until Ctrl-D, keeping the session")
    return parser


@dataclass(frozen=True)
class Connection:
    """Where to send prompts and how to authenticate, once flags, stack outputs and environment are merged."""

    url: str
    api_key: str | None
    iam: bool
    region: str | None
    token: str | None


def resolve_connection(arguments: argparse.Namespace, environ: Mapping[str, str]) -> Connection:
    """Flags win over the stack's outputs, and both over the environment."""
    stack = read_stack_outputs(arguments.stack) if arguments.stack else None
    api_key, iam, token = arguments.api_key, arguments.iam, arguments.token
    explicit = api_key is not None or iam or token is not None
    if not explicit:
        if stack is None:
            api_key, token = environ.get(API_KEY_VARIABLE) or None, environ.get(TOKEN_VARIABLE) or None
        elif stack.auth_mode == "apiKey":
            api_key = stack.api_key
        elif stack.auth_mode == "iam":
            iam = True
        elif stack.auth_mode == "cognito":
            # A stack cannot hand out a user's token: it comes from the environment, or is missing.
            token = environ.get(TOKEN_VARIABLE) or None
            if token is None:
                raise UsageError(
                    f"stack {stack.stack} uses Cognito (authMode cognito), and no ID token was given",
                    f"add --token ID_TOKEN or set {TOKEN_VARIABLE} (a user pool ID token, e.g. from aws cognito-idp initiate-auth)",
                )
    return Connection(
        url=arguments.url or (stack.url if stack else None) or environ.get(URL_VARIABLE) or DEFAULT_URL,
        api_key=api_key,
        iam=iam,
        region=arguments.region or (stack.region if stack else None),
        token=token,
    )


def is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def resolve_prompt(arguments: argparse.Namespace, stdin: TextIO) -> str | None:
    """The prompt to send first: the argument, or all of stdin for '-' (or no argument and stdin not a terminal)."""
    from_stdin = arguments.prompt == "-" or (arguments.prompt is None and not arguments.chat and not is_terminal(stdin))
    if from_stdin and arguments.chat:
        raise UsageError("--chat reads each prompt from stdin itself: give it no '-' (a first prompt may be an argument)")
    if from_stdin:
        prompt = stdin.read().rstrip("\r\n")
        if not prompt.strip():
            raise UsageError(
                "the prompt read from stdin is empty", "give the prompt as an argument, or pipe a non-empty one on stdin"
            )
        return prompt
    if arguments.prompt is None and not arguments.chat:
        raise UsageError(
            "no prompt given", "give it as an argument, pipe it on stdin (or pass '-' to read stdin), or use --chat"
        )
    return arguments.prompt


class Conversation:
    """Sends prompts on one connection, keeping the session id that the API hands back."""

    def __init__(self, connection: Connection, arguments: argparse.Namespace, stderr: TextIO) -> None:
        self.connection = connection
        self.session_id: str | None = arguments.session_id
        self.timeout: float = arguments.timeout
        self.stderr = stderr
        self.credentials: Any = default_aws_credentials() if connection.iam else None
        self.fatal = False  # the API refused us (401/403): another prompt would be refused too

    def ask(self, prompt: str, answer: TextAnswer | JsonEvents) -> int:
        """Stream one answer into ``answer``; return its exit status. Raises OutputClosed, KeyboardInterrupt."""
        connection = self.connection
        events = stream_invoke(
            connection.url,
            prompt,
            session_id=self.session_id,
            api_key=connection.api_key,
            timeout=self.timeout,
            iam_credentials=self.credentials,
            region=connection.region,
            bearer_token=connection.token,
        )
        outcome = EXIT_REQUEST_FAILED  # events_from raises unless a done or error event came
        try:
            for event in events:
                self.session_id = (event.data or {}).get("sessionId") or self.session_id
                answer.event(event)
                if event.name == "done":
                    outcome = EXIT_DONE
                elif event.name == "error":
                    answer.end()
                    data = event.data or {}
                    self.say(f"error: {data.get('code', 'UNKNOWN')}: {data.get('message', '')}")
                    outcome = EXIT_AGENT_ERROR
        except InvokeError as error:
            return self.refused(error)
        except StreamBrokenError as error:
            answer.end()
            self.say(f"stream from {connection.url} broke: {error}")
            return EXIT_REQUEST_FAILED
        except AuthConfigurationError as error:  # e.g. --iam on a custom domain without --region
            self.say(f"cannot sign the request: {error}")
            return EXIT_REQUEST_FAILED
        except (OSError, ValueError) as error:  # refused, unknown host, timeout, TLS
            self.say(f"cannot reach {connection.url}: {error}")
            self.hint(unreachable(connection.url, error))
            return EXIT_REQUEST_FAILED
        finally:
            # Also on Ctrl-C: closing the iterator early sends POST /stop, then closes the stream.
            # Closing alone would not stop the turn on AWS: the agent would answer (and be billed)
            # to the end, and the session's next turn would wait for it.
            events.close()  # type: ignore[attr-defined]
        answer.end()
        return outcome

    def refused(self, error: InvokeError) -> int:
        request = f" (request id {error.request_id})" if error.request_id else ""
        retry = f"; retry after {error.retry_after} s" if error.retry_after else ""
        self.say(f"HTTP {error.status} {error.code}: {error.message}{request}{retry}")
        connection = self.connection
        self.hint(
            refused(error, api_key=connection.api_key is not None, signed=connection.iam, token=connection.token is not None)
        )
        self.fatal = error.status in (401, 403)
        return EXIT_REQUEST_FAILED

    def hint(self, text: str | None) -> None:
        if text:
            self.say(f"hint: {text}")

    def say(self, line: str) -> None:
        try:
            print(line, file=self.stderr, flush=True)
        except OSError:  # stderr closed too (`2>&1 | head`): nobody is left to tell
            pass

    def report_session(self) -> None:
        if self.session_id:
            self.say(f"session: {self.session_id}")


def read_chat_prompt(stdin: TextIO, stderr: TextIO) -> str | None:
    """The next prompt, or None at end of input (Ctrl-D). Ctrl-C raises KeyboardInterrupt."""
    if stdin is sys.stdin and is_terminal(stdin) and is_terminal(sys.stdout):
        try:
            import readline  # noqa: F401  # line editing and history for input(), where the platform has it
        except ImportError:
            pass
        try:
            return input(CHAT_PROMPT)  # the prompt goes to the terminal, never into redirected output
        except EOFError:
            return None
    try:
        stderr.write(CHAT_PROMPT)
        stderr.flush()
    except OSError:  # stderr closed (`2>&1 | head`): the prompt has nowhere to go, the chat goes on
        pass
    line = stdin.readline()
    return line.rstrip("\r\n") if line else None


def chat(conversation: Conversation, first_prompt: str | None, output: Output, stdin: TextIO) -> int:
    stderr = conversation.stderr
    conversation.say(f"chatting with {conversation.connection.url}: Ctrl-D leaves, Ctrl-C stops an answer")
    prompt = first_prompt
    try:
        while True:
            if prompt is None:
                prompt = read_chat_prompt(stdin, stderr)
                if prompt is None:
                    conversation.say("")
                    return EXIT_DONE
            if prompt.strip():
                answer = TextAnswer(output, stderr)
                try:
                    conversation.ask(prompt, answer)
                except KeyboardInterrupt:
                    answer.end()
                    conversation.say("(answer stopped)")
                if conversation.fatal:
                    return EXIT_REQUEST_FAILED
            prompt = None
    except KeyboardInterrupt:  # at the prompt
        conversation.say("")
        return EXIT_INTERRUPTED
    finally:
        conversation.report_session()


def run(arguments: argparse.Namespace, stdout: TextIO, stderr: TextIO, stdin: TextIO | None = None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    try:
        prompt = resolve_prompt(arguments, stdin)
        connection = resolve_connection(arguments, os.environ)
        try:
            invoke_target(connection.url)
        except ValueError as error:
            raise UsageError(str(error), malformed_url(connection.url)) from None
        conversation = Conversation(connection, arguments, stderr)
    except UsageError as error:
        print(f"python -m client: error: {error}", file=stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=stderr)
        return EXIT_USAGE
    except StackOutputError as error:
        print(f"cannot read the stack's outputs: {error}", file=stderr)
        return EXIT_REQUEST_FAILED
    except AuthConfigurationError as error:
        print(f"cannot sign the request: {error}", file=stderr)
        return EXIT_REQUEST_FAILED
    output = Output(stdout)
    try:
        if arguments.chat:
            return chat(conversation, prompt, output, stdin)
        assert prompt is not None  # resolve_prompt gives one unless --chat
        status = conversation.ask(prompt, JsonEvents(output) if arguments.json else TextAnswer(output, stderr))
    except OutputClosed:
        return EXIT_OUTPUT_CLOSED
    if status != EXIT_REQUEST_FAILED:
        conversation.report_session()
    return status


def silence_output() -> None:
    """Point stdout and stderr at /dev/null, so the interpreter's final flush of a closed pipe (stderr
    too, with `2>&1 | head`) neither prints an error nor turns the exit status into 120.

    Everything meant for a stderr that still works has been flushed already.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


def main(argv: list[str] | None = None) -> int:
    try:
        status = run(parse_arguments(argv), sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    if status == EXIT_OUTPUT_CLOSED:
        silence_output()
    return status


if __name__ == "__main__":
    sys.exit(main())
