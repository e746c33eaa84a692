"""The docs (README.md and docs/) document what the code defines: every config key, every error code,
the first deploy.

The lists come from the code, never from a copy: the keys from their declaration (stack_config/config_keys.py,
which also generates the configuration table), the codes from the edge module (streaming_shared/edge.py: the contract's codes and the gateway responses).
A section is found by its heading in whichever page holds it (tests/support/docs.py).
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

import streaming_shared.edge as edge
from stack_config.config_keys import CONFIG_KEYS, DOCS_PAGE
from stack_config.settings import PROJECT, PROJECT_CONFIG_KEYS, REGION_KEY
from tests.support.config_docs import generated_docs_page
from tests.support.docs import README as README_PATH
from tests.support.docs import REPO_ROOT, all_text, anchors, section

README = README_PATH.read_text()
DOCS = all_text()


def error_codes() -> set[str]:
    # Module constants whose value is their own name are the contract's machine codes.
    proxy_codes = {value for name, value in vars(edge).items() if name.isupper() and value == name}
    gateway_codes = {response.code for response in edge.GATEWAY_RESPONSES.values()}
    return proxy_codes | gateway_codes


def test_the_code_lists_are_not_empty() -> None:
    # Guards the derivations above: a refactor that hides the codes must not make the test vacuous.
    assert {"AGENT_ERROR", "STREAM_TIMEOUT", "FORBIDDEN", "QUOTA_EXCEEDED"} <= error_codes()
    assert len(PROJECT_CONFIG_KEYS) > 30


@pytest.mark.parametrize("code", sorted(error_codes()))
def test_every_error_code_has_a_troubleshooting_row(code: str) -> None:
    rows = [line for line in section("Troubleshooting").splitlines() if line.startswith("|") and f"`{code}`" in line]
    assert rows, f"{code} has no row in the troubleshooting table"
    # A row says what shows the cause: a command or a place to look.
    assert any("aws " in row or "pulumi " in row or "client" in row for row in rows), rows


def test_the_configuration_table_is_the_one_generated_from_the_declaration() -> None:
    committed = (REPO_ROOT / DOCS_PAGE).read_text(encoding="utf-8")
    assert committed == generated_docs_page(REPO_ROOT), (
        f"{DOCS_PAGE}'s configuration table is not the one stack_config/config_keys.py and the stack files "
        "give: run `python3 dev.py docs` and commit the result"
    )


def configuration_rows() -> dict[str, dict[str, str]]:
    """The configuration table's rows by key, each a mapping of column -> cell."""
    lines = [line for line in section("Configuration").splitlines() if line.startswith("| ")]
    split = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    header, rows = split[0], split[2:]  # split[1] is the --- line
    return {row[0].strip("`"): dict(zip(header, row)) for row in rows}


def test_every_config_key_has_a_row_with_its_default_allowed_values_and_what_the_stacks_set() -> None:
    rows = configuration_rows()
    assert list(rows) == [REGION_KEY, *PROJECT_CONFIG_KEYS]
    for key in CONFIG_KEYS:
        row = rows[key.name]
        assert row["default"] and row["meaning"].startswith(key.description.replace("|", "\\|")), key.name
        assert all(f"`{choice}`" in row["allowed"] for choice in key.choices), key.name
        if key.range:
            assert row["allowed"] in (f"{key.range[0]}–{key.range[1]}", ", ".join(f"`{c}`" for c in key.choices))
    # A stack file's plain value that differs from the default is in the stack's column.
    defaults = {key.name: key.default for key in CONFIG_KEYS}
    for stack in ("dev", "prod"):
        config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        for full_key, value in config.items():
            key = full_key.removeprefix(f"{PROJECT}:")
            differs = key not in defaults or type(value) is not type(defaults[key]) or value != defaults[key]
            if key in rows and isinstance(value, (bool, int, str)) and differs:
                shown = json.dumps(value) if isinstance(value, bool) else value
                assert rows[key][stack] == f"`{shown}`", (stack, key, rows[key][stack])


CONFIG_SET = re.compile(r"pulumi config set (?:--path '(?P<path>[\w.\[\]]+)'|(?P<key>[\w:]+)) (?P<value>[^\s`|]+)")


def test_every_pulumi_config_set_in_the_docs_names_a_declared_key_and_a_value_it_allows() -> None:
    declared = {key.name: key for key in CONFIG_KEYS}
    commands = [match for match in CONFIG_SET.finditer(DOCS) if match["key"] != "<key>"]
    assert len(commands) >= 15, "the docs name fewer `pulumi config set` commands than they did"
    for command in commands:
        key = command["key"] or re.split(r"[.\[]", command["path"])[0]
        assert key == REGION_KEY or key in declared, f"{command[0]!r} sets a key stack_config/config_keys.py does not declare"
        if key in declared and not command["path"]:
            allowed = declared[key].choices or (("true", "false") if declared[key].type == "boolean" else ())
            assert not allowed or command["value"] in allowed, f"{command[0]!r}: {key} takes {allowed}"


def test_every_stack_output_is_documented() -> None:
    main = (REPO_ROOT / "__main__.py").read_text()
    outputs = set(re.findall(r'pulumi\.export\("(\w+)"', main))
    assert {"apiUrl", "invokeUrl", "agentLogGroup"} <= outputs
    missing = [name for name in sorted(outputs) if f"`{name}`" not in DOCS]
    assert not missing, f"the docs do not mention the outputs {missing}"


FIRST_DEPLOY_STEPS = [
    # (what a stranger must be told, text that shows it is)
    ("the deployer's policies", "for file in deploy/deployer-policy-*.json"),
    ("creating them", 'aws iam create-policy --policy-name "$name" --policy-document "file://$file"'),
    ("attaching them", "aws iam attach-role-policy"),
    ("the GitHub OIDC roles' policies", "deploy/github-preview-policy.json"),
    ("AgentCore's service-linked roles", "aws iam create-service-linked-role --aws-service-name network.bedrock-agentcore.amazonaws.com"),
    ("the Marketplace permissions", "aws-marketplace:Subscribe"),
    ("the Anthropic use-case form", "aws bedrock put-use-case-for-model-access"),
    ("the model subscription", "aws bedrock create-foundation-model-agreement"),
    ("CloudWatch Transaction Search", "--destination CloudWatchLogs"),
    ("X-Ray's right to write spans", "deploy/transaction-search-logs-policy.json"),
    ("logging in to a backend", "pulumi login"),
    ("the secrets passphrase", "PULUMI_CONFIG_PASSPHRASE"),
    ("the environment", "python3 dev.py setup"),
    ("the stack", "pulumi stack init dev"),
    ("the account setting's owner", "pulumi config set manageApiGatewayAccount true"),
    ("deploying", "pulumi up"),
    ("a smoke test", '-m client "Hello" --stack dev'),
    ("the agent's logs", 'aws logs tail "$(pulumi stack output agentLogGroup)"'),
    ("removing it", "pulumi destroy"),
    ("removing the stack", "pulumi stack rm dev"),
]


@pytest.mark.parametrize(("what", "text"), FIRST_DEPLOY_STEPS, ids=[what for what, _ in FIRST_DEPLOY_STEPS])
def test_the_first_deploy_section_tells_each_step(what: str, text: str) -> None:
    assert text in section("First deploy on a fresh account"), f"the first-deploy section does not cover {what}"


def test_the_first_deploy_steps_are_numbered_in_order() -> None:
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", section("First deploy on a fresh account"), re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 10


def test_the_files_the_readme_sends_users_to_exist() -> None:
    # A reference may be a glob (the deployer's policies): each must name at least one file.
    references = set(re.findall(r"\(?`?(deploy/[\w.*-]+\.json)`?", DOCS))
    paths = {path.relative_to(REPO_ROOT).as_posix() for reference in references for path in REPO_ROOT.glob(reference)}
    assert all(any(REPO_ROOT.glob(reference)) for reference in references), references
    assert len(paths) >= 5
    for path in paths:
        document = json.loads((REPO_ROOT / path).read_text())
        assert document["Version"] == "2012-10-17" and document["Statement"], path


DEPLOYER_GLOB = "deploy/deployer-policy-*.json"
COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def test_the_readme_creates_and_attaches_every_deployer_policy() -> None:
    # The deployer's grant is several managed policies (IAM's 6,144-character limit); the README's
    # loops must reach every one of them, and the count it names must be the real one.
    files = sorted(REPO_ROOT.glob(DEPLOYER_GLOB))
    assert 2 <= len(files) <= 10, files
    assert sorted((REPO_ROOT / "deploy").glob("deployer*")) == files, "a deployer policy the README's loop misses"
    for title, commands in (("First deploy on a fresh account", ("aws iam create-policy", "aws iam attach-role-policy")),
                            ("Delivery (GitHub Actions)", ("aws iam create-role", "aws iam attach-role-policy"))):
        text = section(title)
        assert f"for file in {DEPLOYER_GLOB}; do" in text, title
        assert all(command in text for command in commands), title
        assert f"the {COUNT_WORDS[len(files)]} " in text, f"{title} does not say how many deployer policies there are"
    assert "deploy/deployer-policy.json" not in DOCS


def test_the_readme_opens_with_what_has_been_verified_on_aws() -> None:
    # Before the first section: a short status, what is and is not verified on a real account, and
    # where the first deploy's checklist and the open questions are.
    opening = README[: README.index("\n## ")]
    status = [line for line in opening.splitlines() if line.startswith(">")]
    assert status and "Status" in status[0] and len(status) <= 10, status
    text = " ".join(status)
    assert "real AWS account" in text and "Not verified on AWS" in text
    for page, anchor in (("docs/deploying.md", "first-deploy-on-a-fresh-account"), ("docs/design.md", "known-limits")):
        assert f"]({page}#{anchor})" in text, anchor
        assert anchor in anchors((REPO_ROOT / page).read_text()), anchor


# Lambda Web Adapter's arm64 layer versions as its README gave them, release by release
# (awslabs/aws-lambda-web-adapter README.md history: commits 172405e, 5d7885b, 67a86f0, 1b4d29f,
# cb6bc05); its README at v1.0.0 still names 26.
DOCUMENTED_LWA_LAYERS = {22: "0.8.3", 23: "0.8.4", 24: "0.9.0", 25: "0.9.1", 26: "1.0.0-rc1"}
LAYER_CLAIM = re.compile(r"\b(\d{1,3}) (?:is|for) (?:Lambda Web Adapter |LWA )?v?(\d+\.\d+\.\d+(?:-rc\d+)?)")


def test_every_layer_version_claim_has_the_adapters_source() -> None:
    pulumi_yaml = (REPO_ROOT / "Pulumi.yaml").read_text()
    claims = LAYER_CLAIM.findall(DOCS) + LAYER_CLAIM.findall(pulumi_yaml)
    assert claims, "the docs name no layer version's release"
    wrong = [(layer, release) for layer, release in claims if DOCUMENTED_LWA_LAYERS.get(int(layer)) != release]
    assert not wrong, f"layer versions the adapter's README does not give for these releases: {wrong}"
    default = yaml.safe_load(pulumi_yaml)["config"]["lwaLayerVersion"]["default"]
    if default not in DOCUMENTED_LWA_LAYERS:
        [row] = [line for line in section("Configuration").splitlines() if line.startswith("| `lwaLayerVersion`")]
        assert "unverified" in row, row


def rows_with(table_text: str, code: str) -> list[str]:
    return [line for line in table_text.splitlines() if line.startswith("|") and f"`{code}`" in line]


@pytest.mark.parametrize(("code", "aws_fact"), [
    # On AWS each execution environment serves one request: the proxy's stream cap never binds.
    ("THROTTLED", "one request"),
    # API Gateway passes the function one Content-Type, the last.
    ("UNSUPPORTED_MEDIA_TYPE", "last one"),
    # Lambda's 6 MB request limit: API Gateway answers 413 itself, the proxy never sees the body.
    ("PAYLOAD_TOO_LARGE", "6 MB"),
])
def test_statuses_only_the_local_stack_gives_say_what_aws_does(code: str, aws_fact: str) -> None:
    contract = [row for row in rows_with(section("The HTTP contract"), code) if row.startswith("| 4")]
    trouble = [row for row in rows_with(section("Troubleshooting"), code) if "error` event" not in row.split("|")[1]]
    assert contract and trouble, code
    for row in contract + trouble:
        assert aws_fact in row, row
