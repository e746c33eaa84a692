"""Every policy document in deploy/ is one AWS accepts (issue 18, item 1).

The limits are AWS's own ("IAM and AWS STS quotas", IAM User Guide; CloudWatch Logs
`PutResourcePolicy`): IAM counts a policy's characters without white space, a customer managed
policy holds at most 6,144, a role trust policy 2,048 by default, a CloudWatch Logs resource policy
5,120; a role or user takes 10 managed policies by default; a document holds only tab, line feed,
carriage return and U+0020..U+00FF; a statement id is letters and digits, unique in its policy; an
action is `service:Action` (wildcards `*` and `?` allowed). Each file in deploy/ is named below with
the kind of policy it is, so a new file is checked against the right limit or fails until it is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.support.infra_harness import DEPLOYER_POLICIES, REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"

MANAGED, TRUST, LOGS_RESOURCE = "customer managed policy", "role trust policy", "CloudWatch Logs resource policy"
MAX_CHARACTERS = {MANAGED: 6_144, TRUST: 2_048, LOGS_RESOURCE: 5_120}
MANAGED_POLICIES_PER_ROLE = 10  # the default quota, also per user

KINDS = {
    **{path.name: MANAGED for path in DEPLOYER_POLICIES},
    "github-preview-policy.json": MANAGED,
    "github-deploy-trust-policy.json": TRUST,
    "github-preview-trust-policy.json": TRUST,
    "transaction-search-logs-policy.json": LOGS_RESOURCE,
}

ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
SID = re.compile(r"[A-Za-z0-9]+")
ALLOWED_CHARACTERS = re.compile(r"[\t\n\r\u0020-\u00ff]*")


def iam_size(text: str) -> int:
    """A policy's size as IAM counts it: white space is not counted."""
    return len(re.sub(r"\s", "", text))


def problems(text: str, kind: str) -> list[str]:
    """What AWS would refuse in a policy document of this kind (empty when it would accept it)."""
    found: list[str] = []
    if not ALLOWED_CHARACTERS.fullmatch(text):
        found.append("characters outside tab, line feed, carriage return and U+0020..U+00FF")
    if iam_size(text) > MAX_CHARACTERS[kind]:
        found.append(f"{iam_size(text)} characters without white space, over the {kind}'s {MAX_CHARACTERS[kind]}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return [*found, f"not JSON: {error}"]
    if not isinstance(document, dict) or document.get("Version") != "2012-10-17":
        return [*found, 'not a policy object with "Version": "2012-10-17"']
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        return [*found, "no Statement"]
    sids: list[str] = []
    for number, statement in enumerate(statements):
        name = statement.get("Sid", f"statement {number}")
        if "Sid" in statement:
            sids.append(statement["Sid"])
            if not isinstance(statement["Sid"], str) or not SID.fullmatch(statement["Sid"]):
                found.append(f"{name}: a Sid is letters and digits only")
        if statement.get("Effect") not in ("Allow", "Deny"):
            found.append(f"{name}: Effect must be Allow or Deny")
        actions = statement.get("Action", statement.get("NotAction"))
        actions = [actions] if isinstance(actions, str) else actions
        if not actions:
            found.append(f"{name}: no Action")
        found += [f"{name}: action {action!r} is not service:Action" for action in actions or []
                  if not isinstance(action, str) or not ACTION.fullmatch(action)]
        if kind == MANAGED and ("Principal" in statement or "NotPrincipal" in statement):
            found.append(f"{name}: an identity policy names no Principal")
        if kind != MANAGED and "Principal" not in statement:
            found.append(f"{name}: a {kind} names its Principal")
        if kind != TRUST and "Resource" not in statement and "NotResource" not in statement:
            found.append(f"{name}: no Resource")
    duplicates = sorted({sid for sid in sids if sids.count(sid) > 1})
    if duplicates:
        found.append(f"Sids used twice: {duplicates}")
    return found


def test_every_file_in_deploy_is_a_known_kind_of_policy() -> None:
    files = {path.name for path in DEPLOY.glob("*.json")}
    assert files == set(KINDS), f"say what kind of policy each is: {sorted(files ^ set(KINDS))}"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_aws_would_accept_the_policy(name: str) -> None:
    text = (DEPLOY / name).read_text(encoding="utf-8")
    assert not problems(text, KINDS[name]), f"deploy/{name}: " + "; ".join(problems(text, KINDS[name]))


def test_the_deployer_policies_fit_on_one_role_or_user() -> None:
    assert 1 <= len(DEPLOYER_POLICIES) <= MANAGED_POLICIES_PER_ROLE, [path.name for path in DEPLOYER_POLICIES]


def test_statement_ids_name_one_statement_across_the_deployer_policies() -> None:
    # IAM needs unique Sids within a policy; across the set they name a statement in an AccessDenied hunt.
    sids = [statement["Sid"] for path in DEPLOYER_POLICIES for statement in json.loads(path.read_text())["Statement"]]
    assert len(sids) == len(set(sids)), sorted({sid for sid in sids if sids.count(sid) > 1})


# The checker itself refuses what AWS refuses, so the tests above cannot pass by checking nothing.
def _policy(*statements: dict, version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)}, indent=2, ensure_ascii=False)


GOOD = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "ec2:Describe*"], "Resource": "*"}


@pytest.mark.parametrize(("text", "kind", "expected"), [
    (_policy(GOOD), MANAGED, None),
    (_policy({**GOOD, "Resource": ["arn:aws:s3:::b/" + "k" * 40] * 150}), MANAGED, "over the customer managed policy's 6144"),
    (_policy({**GOOD, "Action": "s3 GetObject"}), MANAGED, "is not service:Action"),
    (_policy({**GOOD, "Action": ["s3:GetObject", "*"]}), MANAGED, "is not service:Action"),
    (_policy(GOOD, {**GOOD, "Action": "s3:PutObject"}), MANAGED, "Sids used twice"),
    (_policy({**GOOD, "Sid": "read-objects"}), MANAGED, "letters and digits"),
    (_policy({**GOOD, "Resource": "arn:aws:s3:::bücket…"}), MANAGED, "characters outside"),
    (_policy(GOOD, version="2008-10-17"), MANAGED, '"Version": "2012-10-17"'),
    (_policy(GOOD)[:-1], MANAGED, "not JSON"),
    (_policy({**GOOD, "Principal": "*"}), MANAGED, "names no Principal"),
    (_policy({"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {"StringLike": {"k": "v" * 2100}}}), TRUST, "over the role trust policy's 2048"),
])
def test_the_checker_refuses_what_aws_refuses(text: str, kind: str, expected: str | None) -> None:
    found = problems(text, kind)
    if expected is None:
        assert found == []
    else:
        assert any(expected in problem for problem in found), found


def test_size_is_counted_without_white_space() -> None:
    # The same document indented or not is the same size to IAM.
    compact = json.dumps(json.loads(_policy(GOOD)), separators=(",", ":"))
    assert iam_size(_policy(GOOD)) == iam_size(compact) == len(compact)
