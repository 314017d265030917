"""Issue 19 section 3, a reason on every credential: the `reason` a caller gives when asking.

A read of `creds/:role`, `sts/:role` (and `console/:role`) may carry `reason` (query or body).
It is not a secret: the audit log records it in clear (the paths name it in `Path.audit_clear`),
the lease keeps it (`Secret.reason`, shown by `sys/leases/lookup`), and a role with
`reason_session_tag` sends it to AWS as the tag `awsbroker:reason` (session tag or IAM user
tag) so CloudTrail shows why a session existed. A role may require it (`reason_required`) and
ask for a minimum length (`reason_min_length`).

`take_for_role` is the one call a path makes: it validates the caller's value against the role
and answers what to keep (or a 400 saying what to fix, before any AWS call) and the tag to add
to the request's `Tags`.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from awsbroker.engines.aws import session_templates as st
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T

if TYPE_CHECKING:
    from awsbroker.engines.aws.records.role import RoleEntry

FIELD = "reason"
REQUIRED_FIELD = "reason_required"
MIN_LENGTH_FIELD = "reason_min_length"
SESSION_TAG_FIELD = "reason_session_tag"
TAG_KEY = "awsbroker:reason"
# Kept small: it is stored with every lease and written in every audit entry. A reason longer
# than a tag value (256) is kept whole here and cut (with a digest) in the tag.
MAX_LENGTH = 512
# Refused anywhere in a reason: controls (Cc), format characters (Cf: bidi overrides and
# zero-width characters that make a log line read otherwise than it is), lone surrogates (Cs)
# and line/paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def field() -> Field:
    """The `reason` parameter, as the credential paths declare it."""
    return Field(
        T.STRING,
        "awsbroker extension: why this credential is asked for (recorded in clear in the audit "
        "log and the lease; sent to AWS as the awsbroker:reason tag if the role says so)",
    )


def check(value: str, *, required: bool, min_length: int) -> str:
    """`value` (surrounding whitespace dropped) if it is an acceptable reason, else a 400."""
    reason = value.strip()
    if not reason:
        if required:
            raise InvalidRequest(
                "this role requires a reason: send reason=<why you need this credential>"
                + (f" (at least {min_length} characters)" if min_length else "")
            )
        return ""
    if len(reason) > MAX_LENGTH:
        raise InvalidRequest(
            f"reason is {len(reason)} characters long; at most {MAX_LENGTH} are accepted"
        )
    refused = {c for c in reason if unicodedata.category(c) in _REFUSED_CATEGORIES}
    bad = sorted(f"U+{ord(c):04X}" for c in refused)
    if bad:
        raise InvalidRequest(
            "reason may not hold control, format or line-separator characters; found "
            + ", ".join(bad)
        )
    if len(reason) < min_length:
        raise InvalidRequest(
            f"reason is {len(reason)} characters long; this role requires at least {min_length}"
        )
    return reason


def take_reason(fd: FieldData, *, required: bool, min_length: int) -> str:
    """The validated `reason` of a request whose path declares `field()` ("" when none)."""
    return check(fd.get_str(FIELD), required=required, min_length=min_length)


def take_for_role(fd: FieldData, role: RoleEntry) -> tuple[str, dict[str, str]]:
    """What a credential path (creds, sts, console) calls with the role it issues for: the
    validated reason ("" when none; a 400 when the role's requirements are not met), and the
    tags to add to the AWS request for it ({} unless the role has `reason_session_tag`).
    Keep the reason on the lease with `Secret.reason`, and declare `field()` and
    `audit_clear=(FIELD,)` on the path."""
    reason = take_reason(fd, required=role.reason_required, min_length=role.reason_min_length)
    return reason, reason_tags(reason, role.reason_session_tag)


def tag_value(reason: str) -> str:
    """`reason` as an AWS tag value: characters AWS refuses become `_`, at most 256."""
    return st.fit_tag_value(reason)


def reason_tags(reason: str, enabled: bool) -> dict[str, str]:
    """The tag to add to a request's `Tags` ({} when the role does not send it or there is no
    reason)."""
    return {TAG_KEY: tag_value(reason)} if enabled and reason else {}


def role_problems(
    *, min_length: int, session_tag: bool, taggable: bool, tag_sets: list[list[str]]
) -> list[str]:
    """Why a role's reason settings cannot be used ([] when they can). `taggable`: one of
    the role's credential types takes tags; `tag_sets`: the keys of each set of tags the role
    sends itself (session tags; IAM user tags)."""
    problems: list[str] = []
    if not 0 <= min_length <= MAX_LENGTH:
        problems.append(f"{MIN_LENGTH_FIELD} must be between 0 and {MAX_LENGTH}")
    if not session_tag:
        return problems
    if not taggable:
        problems.append(
            f"{SESSION_TAG_FIELD} needs a credential type that takes tags (assumed_role, "
            "federation_token or iam_user); session_token credentials take none"
        )
    for keys in tag_sets:
        if any(k.lower() == TAG_KEY for k in keys):
            problems.append(
                f"{SESSION_TAG_FIELD}: the tag key {TAG_KEY} is the broker's; remove it from "
                "the role's own tags"
            )
        elif len(keys) >= st.MAX_TAGS:
            problems.append(
                f"{SESSION_TAG_FIELD}: the role sets {len(keys)} tags itself; with {TAG_KEY} "
                f"at most {st.MAX_TAGS} fit"
            )
    return problems
