"""Start the agent, the AgentCore stand-in and the proxy as child processes on 127.0.0.1.

    from local.stack import LocalStack, StackSettings
    with LocalStack(StackSettings(agent_env={"OFFLINE_MODEL_DELAY_MS": "5"})) as stack:
        ...  # stack.url is the public API, exactly as API Gateway would expose it

Each child runs with this interpreter (sys.executable) in its own process group, so stopping the
stack also stops anything a child started (run.sh's uvicorn), and Ctrl-C in a terminal reaches
only this process, which then shuts the children down in order.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from stack_config.auth import ApiKey, Auth, Cognito, Iam, NoAuth
from local.cognito_login import CognitoLogin, LoginSettings
from local.gateway_auth import LOCAL_APP_CLIENT_ID
from local.page_server import PageServer
from streaming_shared.auth_modes import AUTH_MODES
from streaming_shared.edge import (
    CORS_VARIABLE,
    QUALIFIER_VARIABLE,
    READY_PATH,
    RUNTIME_ARN_VARIABLE,
    ProxySettings,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Well-formed but fake: the proxy validates the ARN's shape, the stand-in answers only for it.
LOCAL_RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/local_agent-0000000000"
# The usage metrics' namespace and stack dimension in the local stack's proxy log.
LOCAL_METRICS_STACK = "local"
LOCAL_METRICS_NAMESPACE = f"agentcore-streaming/{LOCAL_METRICS_STACK}"
LOCAL_REGION = "us-east-1"
# Static dummy credentials, only ever given to the proxy: its boto3 client must sign requests
# (the stand-in checks for SigV4) but must never hold, or leak, the developer's real keys.
DUMMY_ACCESS_KEY_ID = "LOCALSTACKDUMMYKEYID"
DUMMY_SECRET_ACCESS_KEY = "local-dummy-secret-access-key"
# Variables that would make the proxy's boto3 use other credentials or ignore the endpoint override.
PROXY_ENV_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
COMPONENT_ORDER = ("agent", "standin", "proxy")
# With an auth mode other than "none" a local API Gateway (local/gateway.py) stands in front.
COMPONENT_ORDER_WITH_GATEWAY = (*COMPONENT_ORDER, "gateway")
READY_PATHS = {"agent": "/ping", "standin": "/_standin/health", "proxy": READY_PATH, "gateway": "/_gateway/health"}
LOG_LINES_KEPT = 5000
LOG_LINES_IN_ERRORS = 30

LogSink = Callable[[str, str], None]


class StackError(RuntimeError):
    """A component died or did not become ready; the message names it and shows its last log lines."""


# Ports already handed to a child by this process, so two children never get the same one.
_PORTS_HANDED_OUT: set[int] = set()


def _ephemeral_port_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return low, high


def find_free_port() -> int:
    """A loopback port for a child to listen on, outside the kernel's ephemeral range.

    A child binds its port a moment after we chose it. Asking the kernel for port 0 would hand out
    an ephemeral port, which any outgoing connection on the machine may take as its source port in
    that moment; ports below (or above) the ephemeral range are never taken that way.
    """
    low, high = _ephemeral_port_range()
    candidates = range(20000, low) if low > 21000 else range(high + 1, 65536)
    chooser = random.SystemRandom()
    for _ in range(500):
        port = chooser.choice(candidates)
        if port in _PORTS_HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
        _PORTS_HANDED_OUT.add(port)
        return port
    raise StackError(f"no free loopback port found in {candidates.start}-{candidates.stop - 1}")


def http_ok(url_host: str, port: int, path: str) -> bool:
    # http.client, not urllib: urllib would honour HTTP_PROXY even for 127.0.0.1.
    connection = http.client.HTTPConnection(url_host, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass
class Component:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES_KEPT))
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, sink: LogSink | None) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Always drain the pipe: a full pipe would block the child in the middle of a write.
        self.reader = threading.Thread(target=self._read_log, args=(sink,), name=f"{self.name}-log", daemon=True)
        self.reader.start()

    def _read_log(self, sink: LogSink | None) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.log.append(line)
            if sink is not None:
                sink(self.name, line)

    def is_ready(self) -> bool:
        return http_ok(HOST, self.port, READY_PATHS[self.name])

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def last_log_lines(self, count: int = LOG_LINES_IN_ERRORS) -> str:
        if self.reader is not None:
            self.reader.join(0.5)  # let the last words of a dying child arrive
        lines = list(self.log)[-count:]
        return "\n".join(f"  {line}" for line in lines) or "  (no output)"

    def stop(self, grace_seconds: float) -> None:
        if self.process is None:
            return
        group = self.process.pid  # start_new_session=True: the child leads its own process group
        if self.process.poll() is None:
            signal_group(group, signal.SIGTERM)
            try:
                self.process.wait(grace_seconds)
            except subprocess.TimeoutExpired:
                signal_group(group, signal.SIGKILL)
                self.process.wait(grace_seconds)
        # The leader may be gone while something it started still runs in its group.
        if group_alive(group):
            signal_group(group, signal.SIGTERM)
            deadline = time.monotonic() + grace_seconds
            while group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.05)
            signal_group(group, signal.SIGKILL)
        if self.reader is not None:
            self.reader.join(2)
        if self.process.stdout is not None:
            self.process.stdout.close()


def signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class StackSettings:
    """Everything a LocalStack can be asked for; unset values take the proxy's and agent's defaults."""

    # The public port (the gateway's with auth, else the proxy's); 0 picks a free one.
    port: int = 0
    # "offline": the deterministic local model; "bedrock": a real model with your AWS credentials.
    model: str = "offline"
    bedrock_model_id: str | None = None
    # Pause between the offline model's pieces of text.
    offline_delay_ms: int | None = None
    keepalive_seconds: float | None = None
    max_prompt_chars: int | None = None
    stream_timeout_seconds: float | None = None
    # Let the proxy log prompts and answers.
    log_content: bool = False
    # Run the agent from this copy of agent/ instead of the repository's (a user's edits, in tests).
    agent_dir: Path | None = None
    # Extra environment per component, applied last, over the defaults.
    agent_env: Mapping[str, str] | None = None
    proxy_env: Mapping[str, str] | None = None
    standin_env: Mapping[str, str] | None = None
    gateway_env: Mapping[str, str] | None = None
    # Seconds to wait for each component to become ready, and for each to stop.
    ready_timeout: float = 90.0
    stop_grace_seconds: float = 10.0
    # The deployed API's auth mode, as its type (stack_config/auth.py: NoAuth(), Iam(), ...) or its
    # config name ("none", "apiKey", "iam", "cognito"); other than none, a local API Gateway in front.
    auth: str | Auth = NoAuth.mode
    # apiKey: key value -> key id; iam: access key id -> secret; cognito: the HS256 token secret.
    # Left out, they are generated.
    api_keys: Mapping[str, str] | None = None
    iam_credentials: Mapping[str, str] | None = None
    jwt_secret: str | None = None
    # Serve the chat page (web/) on its own origin, which the proxy's CORS rules then allow.
    serve_page: bool = False
    page_port: int = 0
    # cognito with the page: port of the hosted-login stand-in (local/cognito_login.py); 0 picks one.
    cognito_login_port: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.auth, str):
            object.__setattr__(self, "auth", self.auth.mode)  # one spelling from here on: the mode's name
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, got {self.auth!r}")
        if self.model not in ("offline", "bedrock"):
            raise ValueError(f"model must be 'offline' or 'bedrock', got {self.model!r}")
        if self.model == "bedrock" and not (self.bedrock_model_id or (self.agent_env or {}).get("BEDROCK_MODEL_ID")):
            raise ValueError("model 'bedrock' needs bedrock_model_id (a model or inference-profile id)")

    def proxy_variables(self) -> dict[str, str]:
        """The proxy's environment for what this stack sets: the runtime, and what was asked for.

        Spelled by the edge's schema; a setting left at its default is not written, so a PROXY_*
        variable in the developer's own environment still reaches the proxy, as it always did.
        """
        chosen = {
            "keepalive_seconds": self.keepalive_seconds,
            "max_prompt_chars": self.max_prompt_chars,
            "stream_timeout_seconds": self.stream_timeout_seconds,
            "log_content": self.log_content or None,
            # Usage records carry the same EMF metrics as on AWS, under a namespace of their own.
            "metrics_namespace": LOCAL_METRICS_NAMESPACE,
            "metrics_stack": LOCAL_METRICS_STACK,
            # As deployed: the proxy serves only ID tokens of the (local) pool's app client.
            "cognito_app_client_id": LOCAL_APP_CLIENT_ID if self.auth == Cognito.mode else None,
            # Behind the local gateway (any auth mode but "none") the request context always comes.
            "require_request_context": self.auth != NoAuth.mode or None,
        }
        defaults = ProxySettings(runtime_arn=LOCAL_RUNTIME_ARN).to_environ()
        asked = ProxySettings(
            runtime_arn=LOCAL_RUNTIME_ARN, **{name: value for name, value in chosen.items() if value is not None}
        ).to_environ()
        fixed = (RUNTIME_ARN_VARIABLE, QUALIFIER_VARIABLE)
        return {name: value for name, value in asked.items() if name in fixed or defaults.get(name) != value}


def optional_settings(pairs: Mapping[str, object | None]) -> dict[str, str]:
    return {name: str(value) for name, value in pairs.items() if value is not None}


def child_environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


def shared_package_path() -> str:
    """PYTHONPATH for a deployable run from its own folder (agent/main.py, proxy/run.sh): the repository
    root first, for streaming_shared/, which each zip carries at its root beside the deployable's package."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))


class LocalStack:
    """The whole request path on loopback: proxy -> AgentCore stand-in -> agent.

    Configured by one StackSettings. Ports are ephemeral unless ``settings.port`` names the public
    one. The offline model's trace file lives in a temporary directory that is removed when the
    stack stops.

    An auth mode other than "none" puts a local API Gateway in front that authenticates like the
    deployed API: "apiKey" (``api_keys``: key value -> key id), "iam" (``iam_credentials``: access
    key id -> secret; SigV4 for execute-api in us-east-1) or "cognito" (HS256 ID tokens signed
    with ``jwt_secret``). Credentials left out are generated. ``url`` is then the gateway and
    ``proxy_url`` always the proxy itself. With "none" there is no gateway: one hop fewer, and
    the proxy treats a request without a request context as anonymous, as behind an open API (with a
    gateway it refuses one, as the deployed proxy does).
    """

    def __init__(self, settings: StackSettings | None = None, *, log_sink: LogSink | None = None) -> None:
        self.settings = settings = settings or StackSettings()
        self.ready_timeout = settings.ready_timeout
        self.stop_grace_seconds = settings.stop_grace_seconds
        self.log_sink = log_sink
        self.runtime_arn = LOCAL_RUNTIME_ARN
        self.region = LOCAL_REGION
        self._temp_dir = tempfile.mkdtemp(prefix="agentcore-local-")
        self.auth = settings.auth
        self._choose_credentials(settings)

        agent = self._agent(settings)
        standin = self._standin(settings, agent)
        proxy = self._proxy(settings, standin)
        components = [agent, standin, proxy]
        if settings.auth != NoAuth.mode:
            components.append(self._gateway(settings, proxy))
        self.component_order = COMPONENT_ORDER if settings.auth == NoAuth.mode else COMPONENT_ORDER_WITH_GATEWAY
        self.components = {component.name: component for component in components}
        self.proxy_url = proxy.url
        self.url = components[-1].url
        self.standin_url = standin.url
        self.agent_url = agent.url
        self.page_server = PageServer(self.url, settings.page_port) if settings.serve_page else None
        self.page_url = self.page_server.url if self.page_server is not None else None
        self.cognito_login = self._cognito_login(settings)
        self._share_cors_origins(settings, proxy)

    def _choose_credentials(self, settings: StackSettings) -> None:
        generated_key = {f"local-key-{secrets.token_hex(12)}": "local-key-id"}
        self.api_keys = dict(settings.api_keys or (generated_key if settings.auth == ApiKey.mode else {}))
        generated_iam = {"AKIALOCALCALLER00001": secrets.token_urlsafe(30)}
        self.iam_credentials = dict(settings.iam_credentials or (generated_iam if settings.auth == Iam.mode else {}))
        self.jwt_secret = settings.jwt_secret or (secrets.token_urlsafe(32) if settings.auth == Cognito.mode else "")

    def _agent(self, settings: StackSettings) -> Component:
        environment = child_environment(
            AGENT_MODEL_PROVIDER=settings.model,
            OFFLINE_MODEL_TRACE_FILE=str(Path(self._temp_dir) / "offline-model-trace.jsonl"),
            PYTHONPATH=shared_package_path(),
            **optional_settings(
                {"OFFLINE_MODEL_DELAY_MS": settings.offline_delay_ms, "BEDROCK_MODEL_ID": settings.bedrock_model_id}
            ),
            **(settings.agent_env or {}),
        )
        agent_dir = settings.agent_dir or REPO_ROOT / "agent"
        agent = Component("agent", [sys.executable, str(Path(agent_dir) / "main.py")], environment, find_free_port())
        agent.env.update({"AGENT_HOST": HOST, "AGENT_PORT": str(agent.port)})
        self.trace_file = agent.env["OFFLINE_MODEL_TRACE_FILE"]
        return agent

    def _standin(self, settings: StackSettings, agent: Component) -> Component:
        port = find_free_port()
        command = [sys.executable, "-m", "local.standin", "--port", str(port),
                   "--agent-url", agent.url, "--runtime-arn", self.runtime_arn]
        return Component("standin", command, child_environment(**(settings.standin_env or {})), port)

    def _proxy(self, settings: StackSettings, standin: Component) -> Component:
        port = (settings.port if settings.auth == NoAuth.mode else 0) or find_free_port()
        inherited = {name: value for name, value in os.environ.items() if name not in PROXY_ENV_REMOVED}
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), HOST, "localhost"]))
        environment = {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            # run.sh calls plain `python`: make it this interpreter.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": shared_package_path(),
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
            "AWS_LWA_PORT": str(port),
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": standin.url,
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            **settings.proxy_variables(),
            **(settings.proxy_env or {}),
        }
        return Component("proxy", ["bash", str(REPO_ROOT / "proxy" / "run.sh")], environment, port)

    def _gateway(self, settings: StackSettings, proxy: Component) -> Component:
        auth = {
            "mode": settings.auth,
            "api_keys": self.api_keys,
            "iam_credentials": self.iam_credentials,
            "region": LOCAL_REGION,
            "jwt_secret": self.jwt_secret,
            "jwt_audience": LOCAL_APP_CLIENT_ID,
        }
        port = settings.port or find_free_port()
        command = [sys.executable, "-m", "local.gateway", "--port", str(port), "--upstream", proxy.url]
        # Secrets travel in the environment, not on the command line where `ps` shows them.
        environment = child_environment(LOCAL_GATEWAY_AUTH=json.dumps(auth), **(settings.gateway_env or {}))
        return Component("gateway", command, environment, port)

    def _cognito_login(self, settings: StackSettings) -> CognitoLogin | None:
        """In cognito mode with the page: a stand-in for the user pool's hosted login, which the page
        signs in with (PKCE) and whose ID tokens the local gateway accepts."""
        if self.page_server is None:
            return None
        login = None
        cognito = None
        if settings.auth == Cognito.mode:
            login = CognitoLogin(LoginSettings(jwt_secret=self.jwt_secret, callback_urls=self.page_server.redirect_uris),
                                 port=settings.cognito_login_port)
            cognito = {"domain": login.url, "clientId": login.settings.client_id, "scopes": ["openid", "email"]}
        self.page_server.configure_auth(settings.auth, cognito)
        return login

    def _share_cors_origins(self, settings: StackSettings, proxy: Component) -> None:
        if self.page_server is not None and not (settings.proxy_env or {}).get(CORS_VARIABLE):
            proxy.env[CORS_VARIABLE] = ",".join(self.page_server.origins)
        cors_origins = proxy.env.get(CORS_VARIABLE)
        if cors_origins and "gateway" in self.components:
            # Like API Gateway's OPTIONS route, the gateway lets preflights through and puts CORS
            # headers on its own refusals, so it needs the same list as the proxy.
            self.components["gateway"].env.setdefault(CORS_VARIABLE, cors_origins)

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: c.process for name, c in self.components.items() if c.process is not None}

    def logs(self, name: str) -> list[str]:
        """The lines a component has written so far (stdout and stderr, the last few thousand)."""
        return list(self.components[name].log)

    def log_records(self, name: str) -> list[dict[str, Any]]:
        """The component's JSON log lines so far, parsed (other lines, such as a server's banner, skipped)."""
        records = []
        for line in self.logs(name):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        return records

    def start(self) -> LocalStack:
        try:
            for name in self.component_order:
                self.components[name].start(self.log_sink)
            self._wait_until_ready()
            if self.cognito_login is not None:
                self.cognito_login.start()
            if self.page_server is not None:
                self.page_server.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        waiting = list(self.component_order)
        while waiting:
            self.raise_if_exited()
            waiting = [name for name in waiting if not self.components[name].is_ready()]
            if waiting and time.monotonic() > deadline:
                name = waiting[0]
                raise StackError(
                    f"{name} did not become ready at {self.components[name].url}{READY_PATHS[name]} "
                    f"within {self.ready_timeout:g} s. Its last log lines:\n{self.components[name].last_log_lines()}"
                )
            if waiting:
                time.sleep(0.1)

    def restart_agent_if_exited(self) -> bool:
        """Start a new agent process if the agent has ended (as AgentCore starts a new microVM).

        Same port, so the stand-in keeps forwarding to it; its conversations are gone, as on a new
        microVM. Returns whether it restarted; StackError if the new one does not become ready.
        """
        agent = self.components["agent"]
        code = agent.exit_code()
        if code is None:
            return False
        self._announce(f"agent exited with code {code}; starting a new agent process, as AgentCore starts a new microVM")
        agent.stop(self.stop_grace_seconds)  # reaps it and anything left in its process group
        agent.start(self.log_sink)
        deadline = time.monotonic() + self.ready_timeout
        while not agent.is_ready():
            if agent.exit_code() is not None or time.monotonic() > deadline:
                raise StackError(f"the restarted agent did not become ready. Its last log lines:\n{agent.last_log_lines()}")
            time.sleep(0.1)
        self._announce(f"agent restarted at {agent.url}")
        return True

    def _announce(self, message: str) -> None:
        if self.log_sink is not None:
            self.log_sink("stack", json.dumps({"component": "stack", "message": message}))

    def raise_if_exited(self) -> None:
        """Raise StackError naming the first component whose process has ended."""
        for name in self.component_order:
            code = self.components[name].exit_code()
            if code is not None:
                raise StackError(
                    f"{name} exited with code {code}. Its last log lines:\n{self.components[name].last_log_lines()}"
                )

    def stop(self) -> None:
        # Front to back: the proxy stops taking requests before the parts behind it go away.
        if self.page_server is not None:
            self.page_server.stop()
        if self.cognito_login is not None:
            self.cognito_login.stop()
        for name in reversed(self.component_order):
            self.components[name].stop(self.stop_grace_seconds)
        shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
