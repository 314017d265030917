"""`operator generate-root`: a new root token from a quorum of unseal key shares. With a token,
over OpenBao's `sys/generate-root-token/*` (as `bao operator generate-root`); with none, or with
`-unauthenticated`, over Vault's token-less `sys/generate-root/*` (the shares are the
credential), which the server serves only while its listener sets
`disable_unauthed_generate_root_endpoints = false` (share_paths.py).

As Vault's command: `-generate-otp` prints a one-time password, `-init -otp=OTP` starts an
attempt (without -otp the server makes the OTP and prints it once), each share holder runs it
with their share (the attempt's nonce is read from the server unless given), the last one gets
the encoded token, and `-decode=ENCODED -otp=OTP` gives the token (decoded here, offline).
"""

from __future__ import annotations

import base64
import getpass
import secrets
import string

from awsbroker.cli.client import JSON
from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag
from awsbroker.cli.output import Row
from awsbroker.cli.share_paths import FLAG, SharePaths

BASE62 = string.ascii_letters + string.digits


def commands() -> list[Command]:
    return [
        Command(
            "operator generate-root",
            "operator generate-root [flags] [KEY | -]",
            "Make a new root token from a quorum of unseal key shares.\n\n"
            "Start with -init (-otp=OTP from -generate-otp, or let the server make one); each "
            "share holder then runs it with their share (asked for, hidden, when not given); "
            "the last one prints the encoded token, which -decode=ENCODED -otp=OTP turns into "
            "the token. -status shows the attempt, -cancel drops it.\n\n"
            "With a token it uses sys/generate-root-token/*; with none (or -unauthenticated), "
            "the token-less sys/generate-root/*, which the server serves only while its "
            "listener sets disable_unauthed_generate_root_endpoints = false.",
            generate_root,
            [
                Flag("init", "Start a root token generation", False),
                Flag("otp", "The one-time password the new token is XORed with", "", "OTP"),
                Flag("generate-otp", "Print a one-time password of the right length", False),
                Flag("decode", "Decode this encoded token with -otp", "", "ENCODED"),
                Flag("nonce", "The attempt's nonce (default: the one in progress)", "", "NONCE"),
                Flag("status", "Show the attempt in progress", False),
                Flag("cancel", "Cancel the attempt in progress", False),
                FLAG,
            ],
            max_args=1,
        )
    ]


def status_rows(body: JSON) -> list[Row]:
    """Vault's rows for a root generation status."""
    rows: list[Row] = [
        ("Nonce", body.get("nonce") or ""),
        ("Started", body.get("started")),
        ("Progress", f"{body.get('progress')}/{body.get('required')}"),
        ("Complete", body.get("complete")),
    ]
    if body.get("encoded_token"):
        rows.append(("Encoded Token", body["encoded_token"]))
    if body.get("otp"):
        rows.append(("OTP", body["otp"]))
    if body.get("otp_length"):
        rows.append(("OTP Length", body["otp_length"]))
    return rows


def _print(ctx: Context, body: JSON) -> None:
    ctx.output().mapping(body, status_rows(body))


def generate_root(ctx: Context) -> int:
    opts = ctx.opts
    if opts.get_str("decode"):
        return _decode(ctx, opts.get_str("decode"), opts.get_str("otp"))
    paths = SharePaths.of(
        ctx,
        "sys/generate-root-token",
        "sys/generate-root",
        "disable_unauthed_generate_root_endpoints",
    )
    if opts.get_bool("generate-otp"):
        length = int(paths.get("attempt").get("otp_length") or 0)
        if not length:
            raise CLIError("the server gave no OTP length")
        ctx.output().success("".join(secrets.choice(BASE62) for _ in range(length)))
    elif opts.get_bool("cancel"):
        paths.delete("attempt")
        ctx.output().success("Success! Root token generation canceled (if it was started)")
    elif opts.get_bool("init"):
        _print(ctx, paths.put("attempt", {"otp": opts.get_str("otp")}))
    elif opts.get_bool("status"):
        _print(ctx, paths.get("attempt"))
    else:
        _provide(ctx, paths)
    return 0


def _provide(ctx: Context, paths: SharePaths) -> None:
    nonce = ctx.opts.get_str("nonce")
    if not nonce:
        status = paths.get("attempt")
        if not status.get("started"):
            raise CLIError("no root token generation is in progress: start one with -init")
        nonce = str(status.get("nonce"))
    key = read_key(ctx)
    _print(ctx, paths.put("update", {"key": key, "nonce": nonce}))


def read_key(ctx: Context) -> str:
    """A key share: the argument, stdin for `-` (or when not a terminal), else asked, hidden."""
    if ctx.args and ctx.args[0] != "-":
        key = ctx.args[0].strip()
    elif ctx.args or not ctx.io.stdin.isatty():
        key = ctx.io.stdin.read().strip()
    else:
        key = getpass.getpass("Unseal Key (will be hidden): ").strip()
    if not key:
        raise CLIError("no unseal key given")
    return key


def _decode(ctx: Context, encoded: str, otp: str) -> int:
    """Vault's `roottoken.DecodeToken`: unpadded base64, XOR the OTP."""
    if not otp:
        raise CLIError("-decode needs the -otp the attempt was started with")
    try:
        mixed = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        raise CLIError("the encoded token is not base64") from None
    if len(mixed) != len(otp.encode()):
        raise CLIError("the OTP's length differs from the encoded token's: is it this OTP?")
    try:
        token = bytes(a ^ b for a, b in zip(mixed, otp.encode(), strict=True)).decode()
    except UnicodeDecodeError:
        raise CLIError("the encoded token does not decode with this OTP") from None
    out = ctx.output()
    if out.table:
        out.success(token)  # the token alone, as Vault's command prints it
    else:
        out.mapping({"token": token})
    return 0
