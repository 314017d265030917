"""docs/session-revocation.md's promises that need no AWS: the policy it shows is the one the
broker writes, the IAM rights it lists are the calls the broker makes, and the boundary allows
exactly what the policy files allow and denies lifting itself."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from awsbroker.engines.aws import deny_policies, session_revocation

DOCS = Path(__file__).resolve().parents[4] / "docs"
POLICY_FILES = (
    "iam_user", "federation_token", "session_token", "assumed_role",
    "rotation_and_static_roles", "session_revocation",
)  # fmt: skip


def load(name: str) -> dict[str, object]:
    return dict(json.loads((DOCS / "iam" / f"{name}.json").read_text()))


def statements(name: str) -> list[dict[str, object]]:
    found = load(name)["Statement"]
    assert isinstance(found, list)
    return found


def test_the_policy_shown_is_the_one_written() -> None:
    text = (DOCS / "session-revocation.md").read_text()
    match = re.search(r"```json\n(.*?)```", text, re.S)
    assert match
    shown = json.loads(match.group(1))
    ids = shown["Statement"][0]["Condition"]["StringEquals"]["aws:userid"]
    assert json.loads(session_revocation.document(list(reversed(ids)))) == shown


def test_the_rights_listed_are_the_calls_made() -> None:
    source = Path(session_revocation.__file__).read_text()
    source += Path(deny_policies.__file__).read_text()
    called = {
        "iam:" + "".join(w.capitalize() for w in m.split("_"))
        for m in re.findall(r"iam\.([a-z_]+)\(", source)
    }
    listed: set[str] = set()
    for statement in statements("session_revocation"):
        action = statement["Action"]
        listed |= set(action) if isinstance(action, list) else {str(action)}
    assert {a for a in listed if a.startswith("iam:")} == called
    # and AssumeRole of the roles named in session_revocation_role_arns (another account)
    assert {a for a in listed if not a.startswith("iam:")} == {"sts:AssumeRole"}


def test_the_boundary_allows_what_the_policies_allow_and_denies_lifting_itself() -> None:
    boundary = statements("boundary")
    allows = [s for s in boundary if s["Effect"] == "Allow"]
    wanted = [s for name in POLICY_FILES for s in statements(name)]
    assert all(s in allows for s in wanted)
    assert all(s in wanted for s in allows)
    (deny,) = [s for s in boundary if s["Effect"] == "Deny"]
    actions = deny["Action"]
    assert isinstance(actions, list)
    assert {"iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary"} <= set(actions)
    assert "arn:aws:iam::111122223333:user/${aws:username}" in str(deny["Resource"])
    # A managed policy holds 6,144 characters, whitespace not counted.
    assert len(json.dumps(load("boundary"), separators=(",", ":"))) <= 6144


def test_the_cut_statement_shown_is_the_one_written() -> None:
    text = (DOCS / "session-revocation.md").read_text()
    shown = json.loads(re.findall(r"```json\n(.*?)```", text, re.S)[1])
    stamp = shown["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    before = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    written = json.loads(session_revocation.document([], before))
    assert written["Statement"] == [shown]
