"""Waiting for IAM to accept a new access key: STS GetCallerIdentity signed with it, retried
with backoff (0.5 s, doubling, at most 2 s between tries) until it answers or `timeout`
seconds pass on the injected clock. One wait for both its uses: `key_propagation_timeout` of
`iam_user` roles (a warning when it runs out) and the check of a rotated key (an error)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from awsbroker.engines.aws.transport.errors import AWS_ERRORS

if TYPE_CHECKING:
    from awsbroker.engines.aws.transport.api import STS

FIRST_DELAY = 0.5
MAX_DELAY = 2.0


@dataclass(frozen=True)
class Acceptance:
    """How the wait ended: the key's ARN as STS answered (empty if it never did), the seconds
    waited, and the last failure."""

    arn: str
    waited: float
    error: Exception | None


def wait_until_accepted(
    sts: STS, *, timeout: float, now: Callable[[], float], sleep: Callable[[float], None]
) -> Acceptance:
    """`sts` is a client signed with the new key (`MountClients.signed_sts`)."""
    started = now()
    delay = FIRST_DELAY
    while True:
        try:
            arn = sts.get_caller_identity()["Arn"]
            return Acceptance(arn, now() - started, None)
        except AWS_ERRORS as exc:
            waited = now() - started
            if waited >= timeout:
                return Acceptance("", waited, exc)
            sleep(min(delay, timeout - waited))
            delay = min(delay * 2, MAX_DELAY)
