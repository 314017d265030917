"""`aws credential-process` and `aws exec`: AWS credentials straight into programs.

`credential-process` prints what AWS SDKs read from a `credential_process` entry of
`~/.aws/config` (Version 1, with an ISO 8601 `Expiration`), from a cache while the credential
is fresh enough (`credcache.py`). `exec` runs a command with fresh credentials in its
environment, and without the broker token (the command gets AWS credentials, nothing more).

Both print the server's warnings on stderr, one line each. `credential-process` asks for a
`ttl` of 1h unless told otherwise (`-ttl=` asks for none: the role's default), so that an SDK
refreshing it fits its refresh windows (docs/sdk-credentials.md); a credential of 15 minutes or
less is handed over with a warning.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from awsbroker.cli.command import Command, Context
from awsbroker.cli.credcache import (
    SDK_REFRESH_WINDOW,
    CacheUnsafe,
    CredentialCache,
    cache_dir,
    fresh_enough,
    worth_caching,
)
from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag
from awsbroker.cli.output import human_duration

COMMAND_NOT_FOUND = 127
# Taken out of the command's environment: the broker token, and AWS settings that would
# compete with the credentials given to it.
_SCRUBBED = (
    "AWSBROKER_TOKEN",
    "VAULT_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)


# What `credential-process` asks for when not told: an hour fits every SDK's refresh window.
PROCESS_TTL = "1h"


def reason_flag() -> Flag:
    """`-reason`, sent as the read's `reason` (also `aws console`'s)."""
    return Flag(
        "reason",
        "Why you need the credential: audited, kept with the lease, and sent to AWS as the "
        "awsbroker:reason tag if the role says so (a role may require it)",
        "",
        "TEXT",
    )


def _role_flags(ttl: str = "") -> list[Flag]:
    return [
        Flag("mount", "Where the AWS secrets engine is mounted", "aws", "PATH"),
        Flag("ttl", "Lifetime of STS credentials (e.g. 1h; empty: the role's)", ttl, "DURATION"),
        Flag("role-arn", "assumed_role with several ARNs: which one", "", "ARN"),
        reason_flag(),
    ]


def commands() -> list[Command]:
    return [
        Command(
            "aws credential-process",
            "aws credential-process [flags] ROLE",
            "Print credentials of ROLE for an AWS SDK's `credential_process`, e.g. in "
            "~/.aws/config:\n\n"
            "    [profile broker]\n"
            "    credential_process = awsbroker aws credential-process ROLE\n\n"
            "A credential is cached (AWSBROKER_CACHE_DIR, default ~/.cache/awsbroker, 0600) "
            "and reused, for the token that fetched it only, while more than 15 minutes of it "
            "are left (AWS SDKs fetch again when under 15 minutes are left). STS credentials "
            "are asked for with a ttl of 1h unless -ttl says otherwise; a credential of 15 "
            "minutes or less is printed with a warning on stderr.",
            credential_process,
            [*_role_flags(PROCESS_TTL), Flag("no-cache", "Always fetch a new credential", False)],
            prints=False,
            min_args=1,
            max_args=1,
        ),
        Command(
            "aws exec",
            "aws exec [flags] ROLE -- COMMAND [ARGS...]",
            "Run COMMAND with fresh credentials of ROLE in AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (and the region in AWS_REGION and "
            "AWS_DEFAULT_REGION). Exits with the command's status.",
            run_exec,
            [*_role_flags(), Flag("region", "AWS region for the command", "", "REGION")],
            prints=False,
            min_args=2,
            stop_after=1,
        ),
    ]


def _fetch(ctx: Context, role: str, *, for_sdk: bool = False) -> tuple[dict[str, Any], float]:
    """Ask the broker for credentials of `role`: (the envelope, when it was asked). The
    server's warnings go to stderr; `for_sdk`, so does one of our own for a credential that
    lives inside the SDKs' refresh window when no ttl was asked for (the server warns when one
    was)."""
    params: dict[str, str] = {}
    if ctx.opts.get_str("ttl"):
        params["ttl"] = ctx.opts.get_str("ttl")
    if ctx.opts.get_str("role-arn"):
        params["role_arn"] = ctx.opts.get_str("role-arn")
    if ctx.opts.get_str("reason"):
        params["reason"] = ctx.opts.get_str("reason")
    mount = ctx.opts.get_str("mount").strip("/")
    asked = time.time()
    body = ctx.client().request("GET", f"{mount}/creds/{role}", params=params or None) or {}
    data = body.get("data") or {}
    if not data.get("access_key"):
        raise CLIError(f"{mount}/creds/{role} answered without credentials")
    warnings = body.get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        ctx.io.stderr.write(f"awsbroker: warning: {warning}\n")
    lifetime = _lifetime(body)
    if for_sdk and "ttl" not in params and 0 < lifetime <= SDK_REFRESH_WINDOW:
        ctx.io.stderr.write(
            f"awsbroker: warning: a lifetime of {human_duration(lifetime)} is inside the AWS "
            "SDKs' refresh windows (botocore fetches new credentials when under 15m are left): "
            "an SDK will fetch a new credential at nearly every call; ask for more with -ttl\n"
        )
    return body, asked


def _lifetime(body: dict[str, Any]) -> int:
    """Seconds the credential is good for: the lease, or the STS expiry if sooner."""
    lifetime = int(body.get("lease_duration") or 0)
    sts_ttl = (body.get("data") or {}).get("ttl")
    if isinstance(sts_ttl, int) and sts_ttl > 0:
        lifetime = min(lifetime, sts_ttl) if lifetime else sts_ttl
    return lifetime


def iso8601(when: float) -> str:
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(body: dict[str, Any], asked: float) -> dict[str, Any]:
    data = body["data"]
    lifetime = _lifetime(body)
    return {
        "access_key": data["access_key"],
        "secret_key": data["secret_key"],
        "session_token": data.get("security_token") or data.get("session_token"),
        "lease_id": body.get("lease_id", ""),
        "issued_at": asked,
        "expires_at": asked + lifetime if lifetime else None,
    }


def process_output(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Version": 1,
        "AccessKeyId": record["access_key"],
        "SecretAccessKey": record["secret_key"],
    }
    if record.get("session_token"):
        out["SessionToken"] = record["session_token"]
    if record.get("expires_at"):
        out["Expiration"] = iso8601(record["expires_at"])
    return out


def credential_process(ctx: Context) -> int:
    role = ctx.args[0]
    settings = ctx.settings
    key = [settings.address, ctx.opts.get_str("mount").strip("/"), role]
    # A credential asked for with a reason is reused only for the same reason.
    key += [ctx.opts.get_str("ttl"), ctx.opts.get_str("role-arn"), ctx.opts.get_str("reason")]
    cache = CredentialCache(cache_dir(ctx.io.env), key, settings.token)
    if ctx.opts.get_bool("no-cache"):
        record = _record(*_fetch(ctx, role, for_sdk=True))
    else:
        record = _cached(ctx, cache, role)
    ctx.io.stdout.write(json.dumps(process_output(record)) + "\n")
    return 0


def _cached(ctx: Context, cache: CredentialCache, role: str) -> dict[str, Any]:
    try:
        cache.prepare()
    except (OSError, CacheUnsafe) as exc:
        ctx.io.stderr.write(f"awsbroker: not caching credentials: {exc}\n")
        return _record(*_fetch(ctx, role, for_sdk=True))
    with cache.locked():
        record = cache.load()
        if record is not None and fresh_enough(record, time.time()):
            return record
        record = _record(*_fetch(ctx, role, for_sdk=True))
        if worth_caching(record):
            cache.store(record)
        return record


def run_exec(ctx: Context) -> int:
    role, command = ctx.args[0], ctx.args[1:]
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise CLIError("no command given: awsbroker aws exec ROLE -- COMMAND [ARGS...]")
    record = _record(*_fetch(ctx, role))
    env = {k: v for k, v in ctx.io.env.items() if k not in _SCRUBBED}
    env["AWS_ACCESS_KEY_ID"] = record["access_key"]
    env["AWS_SECRET_ACCESS_KEY"] = record["secret_key"]
    if record["session_token"]:
        env["AWS_SESSION_TOKEN"] = record["session_token"]
    if record["expires_at"]:
        env["AWS_CREDENTIAL_EXPIRATION"] = iso8601(record["expires_at"])
    region = ctx.opts.get_str("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    ctx.close()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)  # noqa: S606 - running the user's command is the point
    except OSError as exc:
        ctx.io.stderr.write(f"awsbroker: cannot run {command[0]!r}: {exc.strerror}\n")
        return COMMAND_NOT_FOUND
    return 0  # not reached: exec replaced this process
