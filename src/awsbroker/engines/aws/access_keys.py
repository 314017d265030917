"""IAM access keys of one user: list, create, delete, and check that AWS accepts a new one.

AWS allows two access keys per user. Deleting a key that is already gone counts as done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from awsbroker.engines.aws.transport.errors import gone_is_done
from awsbroker.engines.aws.transport.propagation import wait_until_accepted
from awsbroker.sdk.errors import InternalError

if TYPE_CHECKING:
    from awsbroker.engines.aws.transport.api import IAM, STS

KEY_LIMIT = 2


def list_keys(iam: IAM, user: str) -> list[str]:
    """The user's access key IDs, oldest first."""
    metadata = iam.list_access_keys(UserName=user, MaxItems=100)["AccessKeyMetadata"]
    ordered = sorted(metadata, key=lambda k: (k.get("CreateDate") or 0, k["AccessKeyId"]))
    return [k["AccessKeyId"] for k in ordered]


def create_key(iam: IAM, user: str) -> tuple[str, str]:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def delete_key(iam: IAM, user: str, key_id: str) -> None:
    with gone_is_done():
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)


def verify_key(
    sts: STS,
    user: str,
    *,
    timeout: float,
    now: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Prove the key works: STS GetCallerIdentity signed with it (`sts`) answers as `user`.
    IAM takes a few seconds to accept a new key everywhere, so failures are retried until
    `timeout` (propagation.py)."""
    accepted = wait_until_accepted(sts, timeout=timeout, now=now, sleep=sleep)
    if accepted.error is not None:
        raise InternalError(
            f"the new access key was not accepted by AWS within {timeout:g}s: {accepted.error}"
        ) from accepted.error
    arn = accepted.arn
    if arn.rsplit("/", 1)[-1] != user or ":user/" not in arn:
        raise InternalError(f"the new access key belongs to {arn}, not to IAM user {user!r}")
