"""python -m local [options]          run the local stack until Ctrl-C
python -m local demo [PROMPT] [options]   start it, hold a two-turn conversation, stop

The stack is the agent (offline model unless --model bedrock), an AgentCore data-plane stand-in
and the proxy, all on 127.0.0.1, each a child process whose log lines are printed with its name.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

from local.bedrock_access import bedrock_access_problem
from local.demo import DEFAULT_FOLLOW_UP, DEFAULT_PROMPT, run_demo
from stack_config.auth import ApiKey, Cognito, Iam, NoAuth
from streaming_shared.auth_modes import AUTH_MODES
from local.gateway_auth import issue_local_token
from local.stack import HOST, REPO_ROOT, LocalStack, StackError, StackSettings


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=("offline", "bedrock"), default="offline",
                        help="offline: deterministic local model (default); bedrock: your AWS credentials")
    parser.add_argument("--bedrock-model-id", help="model or inference-profile id, required with --model bedrock")
    parser.add_argument("--offline-delay-ms", type=int, help="pause between the offline model's pieces of text")
    parser.add_argument("--keepalive-seconds", type=float, help="proxy keep-alive comment interval")
    parser.add_argument("--max-prompt-chars", type=int, help="longest prompt the proxy accepts")
    parser.add_argument("--stream-timeout-seconds", type=float, help="proxy's limit on one stream")
    parser.add_argument("--log-content", action="store_true", help="let the proxy log prompts and answers")
    parser.add_argument("--ready-timeout", type=float, default=90.0, help="seconds to wait for each component")


def stack_options(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    if arguments.model == "bedrock" and not arguments.bedrock_model_id:
        parser.error("--model bedrock needs --bedrock-model-id")
    if arguments.model == "bedrock" and (problem := bedrock_access_problem()) is not None:
        parser.exit(1, f"{parser.prog}: {problem}\n")  # before any component starts
    return {
        "model": arguments.model,
        "bedrock_model_id": arguments.bedrock_model_id,
        "offline_delay_ms": arguments.offline_delay_ms,
        "keepalive_seconds": arguments.keepalive_seconds,
        "max_prompt_chars": arguments.max_prompt_chars,
        "stream_timeout_seconds": arguments.stream_timeout_seconds,
        "log_content": arguments.log_content,
        "ready_timeout": arguments.ready_timeout,
    }


def print_log_line(lock: threading.Lock) -> Any:
    def sink(name: str, line: str) -> None:
        with lock:
            sys.stdout.write(f"[{name:<7}] {line}\n")
            sys.stdout.flush()

    return sink


def stop_on_sigterm() -> None:
    # `kill <pid>` and terminal hang-ups take the same clean path as Ctrl-C.
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def busy_port_message(port: int, page_port: int) -> str | None:
    """One line naming a port that is taken and the option that changes it, or None."""
    for number, option in ((port, "--port"), (page_port, "--page-port")):
        if number and port_in_use(number):
            return f"port {number} on {HOST} is already in use; choose another with {option} (0 picks a free one)"
    return None


def serve(options: dict[str, Any], port: int, page_port: int = 0) -> int:
    busy = busy_port_message(port, page_port)
    if busy is not None:
        print(f"local stack failed: {busy}", file=sys.stderr)
        return 1
    lock = threading.Lock()
    settings = StackSettings(port=port, serve_page=True, page_port=page_port, **options)
    stack = LocalStack(settings, log_sink=print_log_line(lock))
    stop_on_sigterm()
    try:
        stack.start()
        with lock:
            print(ready_banner(stack, options["model"]), flush=True)
        while True:
            # A crashed agent comes back, as AgentCore would start a new microVM; any other
            # component ending ends the stack.
            stack.restart_agent_if_exited()
            stack.raise_if_exited()
            time.sleep(0.5)
    except StackError as error:
        print(f"local stack failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the local stack...", file=sys.stderr)
        return 0
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave children running.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()


def auth_lines(stack: LocalStack) -> tuple[str, str, str]:
    """(banner lines naming the generated local credentials, environment and client options that use them)."""
    if stack.auth == ApiKey.mode:
        key = next(iter(stack.api_keys))
        return f"  API key:            {key}\n", "", f" --api-key {shlex.quote(key)}"
    if stack.auth == Iam.mode:
        access_key, secret = next(iter(stack.iam_credentials.items()))
        environment = f"AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={shlex.quote(secret)} AWS_SESSION_TOKEN= "
        return (
            f"  IAM access key:     {access_key}  secret: {secret}  region: {stack.region}\n",
            environment,
            f" --iam --region {stack.region}",
        )
    if stack.auth == Cognito.mode:
        token = issue_local_token(stack.jwt_secret, "local-user", expires_in=12 * 3600)
        return f"  ID token (sub local-user, valid 12 h):\n    {token}\n", "", f" --token {token}"
    return "", "", ""


def ready_banner(stack: LocalStack, model: str) -> str:
    credentials, client_environment, client_auth = auth_lines(stack)
    client_command = (
        f"{client_environment}PYTHONPATH={shlex.quote(str(REPO_ROOT))} {shlex.quote(sys.executable)} -m client "
        f"'Hello!' --url {stack.url}{client_auth}"
    )
    if stack.auth != NoAuth.mode:
        credentials = f"  proxy (behind it):  {stack.proxy_url}\n{credentials}"
    page_line = f"  chat page:          {stack.page_url}  (open it in a browser)\n" if stack.page_url else ""
    if stack.cognito_login is not None:
        page_line += (f"  hosted login:       {stack.cognito_login.url}  (local stand-in: the page's Sign in "
                      f"signs in {stack.cognito_login.settings.email} at once, with PKCE)\n")
    return (
        f"\nLocal stack ready.\n"
        f"{page_line}"
        f"  API ({'proxy' if stack.auth == NoAuth.mode else 'gateway, ' + stack.auth}): {stack.url}  (POST /invoke, POST /stop)\n"
        f"{credentials}"
        f"  AgentCore stand-in: {stack.standin_url}\n"
        f"  agent:              {stack.agent_url}  (model: {model})\n"
        f"Try it:\n  {client_command}\n"
        f"Logs follow. Press Ctrl-C to stop.\n"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:
        parser = argparse.ArgumentParser(prog="python -m local demo", description="Two-turn demo on the local stack.")
        parser.add_argument("prompt", nargs="?", default=DEFAULT_PROMPT)
        parser.add_argument("--follow-up", default=DEFAULT_FOLLOW_UP, help="second prompt, same session")
        add_stack_options(parser)
        arguments = parser.parse_args(argv[1:])
        return run_demo(arguments.prompt, arguments.follow_up, **stack_options(arguments, parser))

    parser = argparse.ArgumentParser(
        prog="python -m local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8000,
                        help="proxy port (default 8000; 0 picks a free one)")
    parser.add_argument("--page-port", type=int, default=8001,
                        help="port of the chat page (default 8001; 0 picks a free one)")
    parser.add_argument("--auth", choices=AUTH_MODES, default=NoAuth.mode,
                        help="put a local API Gateway in front that authenticates like the deployed API; "
                             "credentials are generated and printed (default none: no gateway)")
    add_stack_options(parser)
    arguments = parser.parse_args(argv)
    return serve({**stack_options(arguments, parser), "auth": arguments.auth}, arguments.port, arguments.page_port)


if __name__ == "__main__":
    sys.exit(main())
