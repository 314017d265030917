"""The AWS SDKs' credential refresh windows, and lifetimes that fit them.

An SDK fetches credentials again once fewer than its window's seconds are left: botocore (boto3,
the AWS CLI) 15 minutes ahead (advisory) and 10 (mandatory), `_DEFAULT_ADVISORY_REFRESH_TIMEOUT`
and `_DEFAULT_MANDATORY_REFRESH_TIMEOUT` in botocore/credentials.py; the JS v3 and Go v2 SDKs 5
minutes ahead (docs/sdk-credentials.md cites each). A credential whose whole lifetime is inside
the widest window is fetched again at nearly every call: one issuance, and one lease, per call.

So `container-creds/` gives credentials of at least `SDK_DEFAULT_TTL` when the caller asks for no
TTL, and any answer whose lifetime is inside the window carries `window_warning`.
"""

from __future__ import annotations

from awsbroker.sdk.duration import format_duration

# botocore's advisory refresh window, the widest of the SDKs'.
SDK_REFRESH_WINDOW = 15 * 60
# The lifetime container-creds/ gives when the caller asks for none (at least; the role's
# default if longer), before the role's and the mount's maximums.
SDK_DEFAULT_TTL = 60 * 60


def inside_refresh_window(lifetime: int) -> bool:
    return lifetime <= SDK_REFRESH_WINDOW


# What the warning advises: for STS types and container-creds, a longer `ttl`; for an IAM
# user read from `creds/` (which takes its lease from `config/lease`, not from `ttl`), that.
ASK_LONGER = (
    f"ask for a ttl over 15m (container-creds gives {SDK_DEFAULT_TTL // 3600}h when asked for none)"
)
LONGER_LEASE = "iam_user leases come from config/lease: make its lease over 15m"


def window_warning(lifetime: int, remedy: str = ASK_LONGER) -> str:
    return (
        f"a lifetime of {format_duration(lifetime)} is inside the AWS SDKs' refresh windows "
        "(botocore fetches new credentials when under 15m are left): an SDK will fetch a new "
        f"credential, and a new lease, at nearly every call; {remedy}"
    )
