"""Components take objects: the renamed proxy component keeps its deployed resources, the agent's
artifact is a type, and the API dispatches on the auth type instead of re-reading a string."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.infra_harness import ProgramRun

from components.api_builders import method_authorization
from stack_config.auth import ApiKey, Cognito, Iam, NewUserPool, NoAuth, Throttle
from components.proxy_function import PREVIOUS_TYPE
from components.agent_runtime import agent_artifact
from packager.artifacts import AGENT_IMAGE_FILES, ContainerImage

PROXY_COMPONENT = "agentcore-streaming:proxy_function:ProxyFunction"


def test_the_renamed_proxy_component_answers_to_its_old_type(stack_run: ProgramRun) -> None:
    # Without the alias, `pulumi up` would replace the deployed function, its role and its logs:
    # a child's URN carries its parent's type. Children inherit the parent's aliases.
    [component] = stack_run.of_type(PROXY_COMPONENT)
    assert component.alias_types == [PREVIOUS_TYPE] == ["agentcore-streaming:streaming_proxy:StreamingProxy"]
    children = [r for r in stack_run.resources if r.parent == component.urn]
    assert {r.name for r in children} >= {"proxy-function", "proxy-role", "proxy-logs"}


def test_the_agent_artifact_kind_becomes_a_type(tmp_path: Path) -> None:
    # A miniature checkout: agent/'s image files (a package folder as its __init__.py) and the shared package.
    files = [f"agent/{name}/__init__.py" if name == "streaming_agent" else f"agent/{name}" for name in AGENT_IMAGE_FILES]
    for name in (*files, "streaming_shared/__init__.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    image = agent_artifact("container", tmp_path)
    assert isinstance(image, ContainerImage) and image.context.parent == tmp_path / ".build"
    assert (image.context / "Dockerfile").is_file() and (image.context / "streaming_shared/__init__.py").is_file()
    with pytest.raises(ValueError) as error:
        agent_artifact("wheel", tmp_path)
    assert "'wheel'" in str(error.value) and "code, container" in str(error.value)


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (NoAuth(), ("NONE", False)),
        (ApiKey(throttle=Throttle(1, 1), quota=None), ("NONE", True)),
        (Iam(), ("AWS_IAM", False)),
        (Cognito(pool=NewUserPool(allow_self_sign_up=False)), ("COGNITO_USER_POOLS", False)),
    ],
)
def test_the_method_authorization_is_dispatched_on_the_auth_type(auth: object, expected: tuple[str, bool]) -> None:
    assert method_authorization(auth) == expected  # type: ignore[arg-type]


def test_a_string_is_not_an_auth_mode_any_more() -> None:
    with pytest.raises(TypeError):
        method_authorization("apiKey")  # type: ignore[arg-type]
