"""`operator rekey`: new unseal key shares (another count or threshold) from a quorum of the
current ones. With a token, over OpenBao's `sys/rotate/root/*` (as `bao operator rotate-keys`);
with none, or with `-unauthenticated`, over Vault's token-less `sys/rekey/*` (the shares are the
credential), which the server serves only while its listener sets
`disable_unauthed_rekey_endpoints = false` (share_paths.py).

As Vault's command: `-init -key-shares=N -key-threshold=T` starts (with `-verify`, the new
shares must be given back before they count), each holder of a current share runs it with
their share (the nonce is read from the server unless given), and the last one gets the new
shares. With `-verify` and `-status`, `-cancel` or a share, it acts on the verification.
"""

from __future__ import annotations

from awsbroker.cli.client import JSON
from awsbroker.cli.cmd_generate_root import read_key
from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag
from awsbroker.cli.output import Row
from awsbroker.cli.share_paths import FLAG, SharePaths

INIT, UPDATE, VERIFY = "init", "update", "verify"


def commands() -> list[Command]:
    return [
        Command(
            "operator rekey",
            "operator rekey [flags] [KEY | -]",
            "Make new unseal key shares from a quorum of the current ones.\n\n"
            "Start with -init -key-shares=N -key-threshold=T (and -verify to have the new "
            "shares given back before they count); each holder of a current share then runs it "
            "with their share (asked for, hidden, when not given); the last one prints the new "
            "shares. -status shows the attempt, -cancel drops it; with -verify they act on the "
            "verification, and a share given is one of the new ones.\n\n"
            "With a token it uses sys/rotate/root/*; with none (or -unauthenticated), the "
            "token-less sys/rekey/*, which the server serves only while its listener sets "
            "disable_unauthed_rekey_endpoints = false.",
            rekey,
            [
                Flag("init", "Start a rekey", False),
                Flag("key-shares", "Number of new key shares", "5", "N"),
                Flag("key-threshold", "Number of new shares needed to unseal", "3", "N"),
                Flag("verify", "Verify the new shares (with -init: require it)", False),
                Flag("nonce", "The attempt's nonce (default: the one in progress)", "", "NONCE"),
                Flag("status", "Show the attempt in progress", False),
                Flag(
                    "cancel", "Cancel the attempt (with -verify: restart the verification)", False
                ),
                FLAG,
            ],
            max_args=1,
        )
    ]


def status_rows(body: JSON) -> list[Row]:
    """Vault's rows for a rekey status."""
    if not body.get("started"):
        return [("Nonce", body.get("nonce") or "n/a"), ("Started", False)]
    return [
        ("Nonce", body.get("nonce")),
        ("Started", True),
        ("Rekey Progress", f"{body.get('progress')}/{body.get('required')}"),
        ("New Shares", body.get("n")),
        ("New Threshold", body.get("t")),
        ("Verification Required", body.get("verification_required")),
    ]


def verify_rows(body: JSON) -> list[Row]:
    return [
        ("Started", body.get("started")),
        ("New Shares", body.get("n")),
        ("New Threshold", body.get("t")),
        ("Verification Nonce", body.get("nonce")),
        ("Verification Progress", f"{body.get('progress')}/{body.get('t')}"),
    ]


def _int(ctx: Context, name: str) -> int:
    try:
        return int(ctx.opts.get_str(name))
    except ValueError:
        raise CLIError(f"-{name} must be a number") from None


def rekey(ctx: Context) -> int:
    opts, out = ctx.opts, ctx.output()
    client = SharePaths.of(ctx, "sys/rotate/root", "sys/rekey", "disable_unauthed_rekey_endpoints")
    verify = opts.get_bool("verify")
    if opts.get_bool("init"):
        body = {
            "secret_shares": _int(ctx, "key-shares"),
            "secret_threshold": _int(ctx, "key-threshold"),
            "require_verification": verify,
        }
        started = client.put(INIT, body)
        out.mapping(started, status_rows(started))
    elif opts.get_bool("cancel") and verify:
        restarted = client.delete(VERIFY)
        out.mapping(restarted, verify_rows(restarted))
    elif opts.get_bool("cancel"):
        client.delete(INIT)
        out.success("Success! Canceled rekeying (if it was started)")
    elif opts.get_bool("status"):
        status = client.get(VERIFY if verify else INIT)
        out.mapping(status, verify_rows(status) if verify else status_rows(status))
    elif verify:
        _give_verification(ctx, client)
    else:
        _give(ctx, client)
    return 0


def _nonce(ctx: Context, client: SharePaths, path: str) -> str:
    nonce = ctx.opts.get_str("nonce")
    if nonce:
        return nonce
    status = client.get(path)
    if not status.get("started"):
        raise CLIError("no rekey is in progress: start one with -init")
    return str(status.get("nonce"))


def _give(ctx: Context, client: SharePaths) -> None:
    nonce = _nonce(ctx, client, INIT)
    body = client.put(UPDATE, {"key": read_key(ctx), "nonce": nonce})
    out = ctx.output()
    if not body.get("complete"):
        out.mapping(body, status_rows(body))
        return
    if not out.table:
        out.mapping(body)
        return
    keys = body.get("keys_base64") or []
    lines = [f"Key {i}: {key}" for i, key in enumerate(keys, 1)]
    lines += ["", f"Operation nonce: {body.get('nonce')}", ""]
    if body.get("verification_required"):
        lines.append(
            "The new shares count only once a quorum of them is given back: run `awsbroker "
            "operator rekey -verify` with each, verification nonce "
            f"{body.get('verification_nonce')}. Until then the old shares unseal."
        )
    else:
        lines.append(
            f"The unseal key is now split into {len(keys)} new shares. Keep them apart: from "
            "the next start, the new shares unseal the server, and the old ones no longer do."
        )
    out.success("\n".join(lines))


def _give_verification(ctx: Context, client: SharePaths) -> None:
    nonce = _nonce(ctx, client, VERIFY)
    body = client.put(VERIFY, {"key": read_key(ctx), "nonce": nonce})
    out = ctx.output()
    if not body.get("complete"):
        out.mapping(body, verify_rows(body))
    elif not out.table:
        out.mapping(body)
    else:
        out.success(
            "Rekey verification successful. The rekey operation is complete and the new "
            "keys are now active."
        )
