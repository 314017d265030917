"""`read`, `write`, `list`, `delete` on any path, and `login`."""

from __future__ import annotations

import dataclasses
import getpass

from awsbroker.cli import kv_args, oidc_login, vault_json
from awsbroker.cli.client import Client
from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import REMOTE, CLIError, UsageError
from awsbroker.cli.flags import Flag
from awsbroker.cli.settings import token_file, write_token_file


def commands() -> list[Command]:
    return [
        Command(
            "read",
            "read [flags] PATH [key=value...]",
            "Read data from a path (credentials: `awsbroker read aws/creds/ROLE`).\n\n"
            "key=value arguments are sent as query parameters.",
            read,
            min_args=1,
        ),
        Command(
            "write",
            "write [flags] PATH [key=value... | @file.json | -]",
            "Write data to a path. Values: key=value, key=@file, key=- (stdin); a lone "
            "@file.json or - reads a JSON object.",
            write,
            flags=[
                # Vault's CLI wants one of them to write no data; here none is needed, and both
                # are accepted so that Vault's command lines run unchanged.
                Flag("force", "Write even with no data (accepted; never needed here)", False),
                Flag("f", "Short for -force", False),
            ],
            min_args=1,
        ),
        Command(
            "list",
            "list [flags] PATH",
            "List the keys under a path.",
            list_path,
            min_args=1,
            max_args=1,
        ),
        Command(
            "delete",
            "delete [flags] PATH",
            "Delete the data at a path.",
            delete,
            min_args=1,
            max_args=1,
        ),
        Command(
            "unwrap",
            "unwrap [flags] [TOKEN]",
            "Unwrap a wrapped response (from -wrap-ttl) and print it: the wrapping token given, "
            "else the CLI's own token. A wrapping token unwraps once.",
            unwrap,
            max_args=1,
        ),
        Command(
            "path-help",
            "path-help [flags] PATH",
            "Print the help of a path: what it does and the parameters it takes (the server's "
            "answer to `GET PATH?help=1`, which never runs the path itself).",
            path_help,
            min_args=1,
            max_args=1,
        ),
        Command(
            "login",
            "login [flags] [TOKEN | - | key=value...]",
            "Check a token and save it to the token file (AWSBROKER_TOKEN_FILE, default "
            "~/.awsbroker-token), where later commands find it. With no argument, asks for it; "
            "with -, reads it from stdin.\n\n"
            "-method=oidc signs in through the OIDC provider of an oidc (or jwt) mount in a "
            "browser, and saves the token it gives: key=value arguments role=NAME, port=8250, "
            "listenaddress=localhost, callbackhost=localhost, callbackport=PORT, "
            "callbackmethod=http, skip_browser=false, timeout=2m. As in Vault's CLI, AppRole "
            "has no method here: `awsbroker write auth/approle/login role_id=... secret_id=...`.",
            login,
            [
                Flag("method", "How to log in: token or oidc", "token", "METHOD"),
                Flag("path", "The auth mount of -method=oidc (default: oidc)", "", "PATH"),
            ],
        ),
    ]


def _path(ctx: Context) -> str:
    return ctx.args[0].strip("/")


def read(ctx: Context) -> int:
    path = _path(ctx)
    params = {k: str(v) for k, v in kv_args.parse(ctx.args[1:], ctx.io.stdin).items()}
    body = ctx.client().request("GET", path, params=params or None, allow_404=True)
    if body is None:
        ctx.io.stderr.write(f"No value found at {path}\n")
        return REMOTE
    ctx.output().secret(body)
    return 0


def write(ctx: Context) -> int:
    path = _path(ctx)
    data = kv_args.parse(ctx.args[1:], ctx.io.stdin)
    body = ctx.client().put(path, data)
    if body is None:  # as Vault: JSON and YAML print nothing, so stdout stays parseable
        if ctx.output().table:
            ctx.output().success(f"Success! Data written to: {path}")
        return 0
    ctx.output().secret(body)
    return 0


def unwrap(ctx: Context) -> int:
    token = ctx.args[0].strip() if ctx.args else ""
    body = ctx.client().put("sys/wrapping/unwrap", {"token": token} if token else None)
    if body is None:
        if ctx.output().table:
            ctx.output().success("Successfully unwrapped. There was no data in the wrapped secret.")
        return 0
    ctx.output().secret(body)
    return 0


def list_path(ctx: Context) -> int:
    path = _path(ctx)
    body = ctx.client().list_keys(path)
    keys = (body or {}).get("data", {}) or {}
    if body is None or not keys.get("keys"):
        out = ctx.output()
        if out.format != "table":
            out.structured({})  # as Vault: an empty object, and the exit code of "nothing"
        else:
            ctx.io.stderr.write(f"No value found at {path}/\n")
        return REMOTE
    ctx.output().keys(keys["keys"])
    return 0


def delete(ctx: Context) -> int:
    path = _path(ctx)
    body = ctx.client().delete(path)
    if body is not None:
        ctx.output().secret(body)
    elif ctx.output().table:
        ctx.output().success(f"Success! Data deleted (if it existed) at: {path}")
    return 0


def path_help(ctx: Context) -> int:
    body = ctx.client().request("GET", _path(ctx), params={"help": "1"}) or {}
    ctx.io.stdout.write(str(body.get("help", "")))
    return 0


def _token_argument(ctx: Context) -> str:
    if ctx.args and ctx.args[0] != "-":
        return ctx.args[0].strip()
    if ctx.args or not ctx.io.stdin.isatty():
        return ctx.io.stdin.read().strip()
    return getpass.getpass("Token (will be hidden): ").strip()


def login(ctx: Context) -> int:
    method = ctx.opts.get_str("method") or "token"
    if method == "oidc":
        return _login_oidc(ctx)
    if ctx.opts.get_str("path"):
        raise UsageError("-path is for -method=oidc; a token login has no mount")
    if len(ctx.args) > 1:
        raise UsageError("login takes one token argument (or -)")
    if method != "token":
        hint = ""
        if method == "approle":
            hint = (
                "\nAppRole logs in with: awsbroker write auth/approle/login role_id=ROLE_ID "
                "secret_id=SECRET_ID"
            )
        raise CLIError(
            f'Unknown auth method: {method}. Use "awsbroker auth list" to see the complete list '
            "of auth methods. Additionally, some auth methods are only available via the HTTP "
            f"API.{hint}"
        )
    token = _token_argument(ctx)
    if not token:
        raise CLIError("no token given: `awsbroker login TOKEN`, or pipe it to `awsbroker login -`")
    _save_and_print(ctx, token)
    return 0


def _login_oidc(ctx: Context) -> int:
    pairs: dict[str, str] = {}
    for arg in ctx.args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise UsageError(f"-method=oidc takes key=value arguments, not {arg!r}")
        pairs[key] = value
    opts = oidc_login.options(pairs)
    mount = (ctx.opts.get_str("path") or "oidc").strip("/")
    with Client(ctx.settings) as client:
        auth = oidc_login.login(client, mount, opts, ctx.io.stderr)
    _save_and_print(ctx, str(auth["client_token"]))
    return 0


def _save_and_print(ctx: Context, token: str) -> None:
    """Look the token up (it works, and its fields are printed), save it, print as Vault."""
    source = "the login argument"
    settings = dataclasses.replace(ctx.settings, token=token, token_source=source)
    with Client(settings) as client:
        body = client.get("auth/token/lookup-self") or {}
    path = token_file(ctx.io.env)
    try:
        write_token_file(path, token)
    except OSError as exc:
        raise CLIError(f"cannot write the token file {path}: {exc.strerror}") from None
    for name in ("AWSBROKER_TOKEN", "VAULT_TOKEN"):
        if ctx.io.env.get(name):
            ctx.io.stderr.write(
                f"WARNING! {name} is set in your environment: it takes precedence over the "
                f"token file. Unset it to use the token saved here.\n\n"
            )
            break
    out = ctx.output()
    data = body.get("data") or {}
    if out.table:
        out.success(f"Success! You are now authenticated. The token is saved in {path}.\n")
    out.secret(vault_json.login(token, data))
