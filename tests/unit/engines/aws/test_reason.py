"""The reason's rules (engines/aws/reason.py): what is accepted, what the tag becomes, and what
a role may set."""

from __future__ import annotations

import hashlib

import pytest

from awsbroker.engines.aws import reason as rs
from awsbroker.engines.aws.records.role import RoleEntry
from awsbroker.sdk.errors import InvalidRequest


def refused(value: str, *, required: bool = False, min_length: int = 0) -> str:
    with pytest.raises(InvalidRequest) as caught:
        rs.check(value, required=required, min_length=min_length)
    return caught.value.messages[0]


def test_letters_of_any_script_and_emoji_are_accepted_and_trimmed() -> None:
    assert rs.check("  Störung 障害 🔥 INC-1  ", required=True, min_length=5) == (
        "Störung 障害 🔥 INC-1"
    )
    assert rs.check("", required=False, min_length=10) == ""  # not required: no reason is fine


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("a\tb", "U+0009"),
        ("a\x00b", "U+0000"),
        ("a\x7fb", "U+007F"),
        ("a\u200bb", "U+200B"),  # zero-width space (Cf)
        ("a\u202eb", "U+202E"),  # right-to-left override (Cf)
        ("a\u2028b", "U+2028"),  # line separator (Zl)
        ("a\u2029b", "U+2029"),  # paragraph separator (Zp)
        ("a\ud800b", "U+D800"),  # lone surrogate (Cs)
    ],
)
def test_control_format_and_separator_characters_are_refused(value: str, code: str) -> None:
    assert refused(value) == (
        f"reason may not hold control, format or line-separator characters; found {code}"
    )


def test_lengths() -> None:
    assert rs.check("x" * 512, required=False, min_length=0) == "x" * 512
    assert refused("x" * 513) == "reason is 513 characters long; at most 512 are accepted"
    assert refused("short", min_length=6) == (
        "reason is 5 characters long; this role requires at least 6"
    )
    assert refused(" ", required=True) == (
        "this role requires a reason: send reason=<why you need this credential>"
    )


def test_the_tag_value_fits_aws() -> None:
    assert rs.reason_tags("it's <urgent>; ok", True) == {"awsbroker:reason": "it_s _urgent__ ok"}
    assert rs.reason_tags("anything", False) == {}
    assert rs.reason_tags("", True) == {}
    long = "y" * 300
    digest = hashlib.sha256(long.encode()).hexdigest()[:16]
    assert rs.tag_value(long) == "y" * 239 + "-" + digest


def role(**fields: object) -> RoleEntry:
    return RoleEntry(**fields)  # type: ignore[arg-type]


def test_role_settings_are_validated() -> None:
    arn = "arn:aws:iam::123456789012:role/r"
    ok = role(credential_types=["assumed_role"], role_arns=[arn], reason_session_tag=True)
    assert ok.validate() == []
    assert role(credential_types=["session_token"], reason_session_tag=True).validate() == [
        "reason_session_tag needs a credential type that takes tags (assumed_role, "
        "federation_token or iam_user); session_token credentials take none"
    ]
    # Required without a tag is fine for session_token: the audit log and lease keep it.
    assert role(credential_types=["session_token"], reason_required=True).validate() == []
    assert role(credential_types=["iam_user"], reason_min_length=513).validate() == [
        "reason_min_length must be between 0 and 512"
    ]
    own = role(
        credential_types=["iam_user"], iam_tags={"AwsBroker:Reason": "x"}, reason_session_tag=True
    )
    assert own.validate() == [
        "reason_session_tag: the tag key awsbroker:reason is the broker's; remove it from the "
        "role's own tags"
    ]
    full = role(
        credential_types=["assumed_role"],
        role_arns=[arn],
        session_tags={f"k{i}": "v" for i in range(50)},
        reason_session_tag=True,
    )
    assert full.validate() == [
        "reason_session_tag: the role sets 50 tags itself; with awsbroker:reason at most 50 fit"
    ]


def test_the_settings_are_stored_only_when_set() -> None:
    plain = RoleEntry(credential_types=["iam_user"])
    assert not {"reason_required", "reason_min_length", "reason_session_tag"} & set(plain.record())
    set_ = RoleEntry(
        credential_types=["iam_user"],
        reason_required=True,
        reason_min_length=8,
        reason_session_tag=True,
    )
    back = RoleEntry.from_record(set_.to_record())
    assert (back.reason_required, back.reason_min_length, back.reason_session_tag) == (
        True,
        8,
        True,
    )
