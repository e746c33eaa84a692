"""python -m client "prompt" [--url URL] [--session-id ID] [--api-key KEY | --iam [--region R] | --token JWT]

Prints the answer to stdout as it streams, then `session: <id>` on stderr so the conversation can
go on with --session-id. Exit status: 0 done, 1 the agent reported an error, 2 HTTP error or the
connection failed (before or during the stream).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from client.api import DEFAULT_TIMEOUT_SECONDS, InvokeError, StreamBrokenError, stream_invoke
from client.auth import AuthConfigurationError, default_aws_credentials

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_DONE = 0
EXIT_AGENT_ERROR = 1
EXIT_REQUEST_FAILED = 2


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m client", description="Stream an answer from the agent API.")
    parser.add_argument("prompt")
    parser.add_argument(
        "--url",
        default=os.environ.get("AGENTCORE_STREAMING_URL") or DEFAULT_URL,
        help="the stack output apiUrl (base) or invokeUrl (ending in /invoke); env AGENTCORE_STREAMING_URL, default %(default)s",
    )
    parser.add_argument("--session-id", help="continue this conversation")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("AGENTCORE_STREAMING_API_KEY") or None,
        help="sent as x-api-key (env AGENTCORE_STREAMING_API_KEY)",
    )
    authorization = parser.add_mutually_exclusive_group()
    authorization.add_argument(
        "--iam",
        action="store_true",
        help="sign with SigV4 (service execute-api) using the standard AWS credential chain",
    )
    authorization.add_argument(
        "--token",
        default=os.environ.get("AGENTCORE_STREAMING_TOKEN") or None,
        help="Cognito ID token, sent as Authorization: Bearer (env AGENTCORE_STREAMING_TOKEN)",
    )
    parser.add_argument("--region", help="region for --iam when the URL is not an execute-api URL")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="socket timeout, seconds")
    return parser.parse_args(argv)


def run(arguments: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    session_id = arguments.session_id
    outcome = None
    try:
        iam_credentials = default_aws_credentials() if arguments.iam else None
    except AuthConfigurationError as error:
        print(f"cannot sign the request: {error}", file=stderr)
        return EXIT_REQUEST_FAILED
    try:
        for event in stream_invoke(
            arguments.url,
            arguments.prompt,
            session_id=arguments.session_id,
            api_key=arguments.api_key,
            timeout=arguments.timeout,
            iam_credentials=iam_credentials,
            region=arguments.region,
            bearer_token=arguments.token,
        ):
            data = event.data or {}
            session_id = data.get("sessionId") or session_id
            if event.name == "delta":
                stdout.write(str(data.get("text", "")))
                stdout.flush()
            elif event.name == "done":
                outcome = EXIT_DONE
            elif event.name == "error":
                stdout.write("\n")
                stdout.flush()
                print(f"error: {data.get('code', 'UNKNOWN')}: {data.get('message', '')}", file=stderr)
                outcome = EXIT_AGENT_ERROR
    except InvokeError as error:
        request = f" (request id {error.request_id})" if error.request_id else ""
        retry = f"; retry after {error.retry_after} s" if error.retry_after else ""
        print(f"HTTP {error.status} {error.code}: {error.message}{request}{retry}", file=stderr)
        return EXIT_REQUEST_FAILED
    except StreamBrokenError as error:
        stdout.write("\n")
        print(f"stream from {arguments.url} broke: {error}", file=stderr)
        return EXIT_REQUEST_FAILED
    except AuthConfigurationError as error:  # e.g. --iam on a custom domain without --region
        print(f"cannot sign the request: {error}", file=stderr)
        return EXIT_REQUEST_FAILED
    except (OSError, ValueError) as error:  # refused, unknown host, timeout, TLS, or a bad URL
        print(f"cannot reach {arguments.url}: {error}", file=stderr)
        return EXIT_REQUEST_FAILED
    if outcome == EXIT_DONE:
        stdout.write("\n")
        stdout.flush()
    if session_id:
        print(f"session: {session_id}", file=stderr)
    # events_from raises unless a done or error event came, so outcome is always set here.
    return EXIT_REQUEST_FAILED if outcome is None else outcome


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_arguments(argv), sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
