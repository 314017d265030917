"""`status` and `operator init|unseal|seal|status`: the seal, over `sys/`."""

from __future__ import annotations

import getpass
from typing import Any

from awsbroker.cli import vault_json
from awsbroker.cli.client import JSON, Client
from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import LOCAL, REMOTE, APIError, CLIError, RemoteError
from awsbroker.cli.flags import Flag
from awsbroker.cli.output import Row

SEALED = 2  # `status`: Vault's exit code for a sealed server
ZERO_TIME = vault_json.ZERO_TIME  # `sys/leader`'s "never"


def commands() -> list[Command]:
    status_doc = "Show the server's seal status.\n\nExit code: 0 unsealed, 2 sealed, 1 on an error."
    return [
        Command("status", "status [flags]", status_doc, status, max_args=0),
        Command(
            "operator init",
            "operator init [flags]",
            "Initialise a new server: split its unseal key into shares and make a root token.\n\n"
            "With -status, only tell whether it is initialised (exit 0 yes, 2 no).",
            init,
            [
                Flag("key-shares", "Number of key shares to split the unseal key into", "5", "N"),
                Flag("key-threshold", "Number of shares needed to unseal", "3", "N"),
                Flag("status", "Only print whether the server is initialised", False),
            ],
            max_args=0,
        ),
        Command(
            "operator unseal",
            "operator unseal [flags] [KEY | -]",
            "Submit one unseal key share. With no argument, asks for it (hidden); with -, "
            "reads it from stdin. Run it once per share until the threshold is reached.",
            unseal,
            [Flag("reset", "Discard the shares submitted so far", False)],
            max_args=1,
        ),
        Command(
            "operator seal",
            "operator seal [flags]",
            "Seal the server (root or sudo).",
            seal,
            max_args=0,
        ),
        Command("operator status", "operator status [flags]", status_doc, status, max_args=0),
    ]


def status_rows(body: JSON) -> list[Row]:
    rows: list[Row] = [
        ("Seal Type", body.get("type")),
        ("Initialized", body.get("initialized")),
        ("Sealed", body.get("sealed")),
        ("Total Shares", body.get("n")),
        ("Threshold", body.get("t")),
    ]
    if body.get("sealed"):
        rows += [("Unseal Progress", f"{body.get('progress')}/{body.get('t')}")]
        rows += [("Unseal Nonce", body.get("nonce") or "n/a")]
    rows += [("Version", body.get("version")), ("Storage Type", body.get("storage_type"))]
    if body.get("cluster_name") and body.get("cluster_id"):
        rows += [("Cluster Name", body["cluster_name"]), ("Cluster ID", body["cluster_id"])]
    rows.append(("HA Enabled", bool(body.get("ha_enabled"))))
    if body.get("ha_enabled"):
        rows += _ha_rows(body)
    return rows


def _ha_rows(body: JSON) -> list[Row]:
    """Vault's rows for a node of an HA cluster (every awsbroker node is an active one)."""
    if body.get("sealed"):
        return [("HA Mode", "sealed")]
    rows: list[Row] = [
        ("HA Cluster", body.get("leader_cluster_address") or "n/a"),
        ("HA Mode", "active" if body.get("is_self") else "standby"),
    ]
    if body.get("is_self") and body.get("active_time") not in (None, "", ZERO_TIME):
        rows.append(("Active Since", body["active_time"]))
    if not body.get("is_self"):
        rows.append(("Active Node Address", body.get("leader_address") or "<none>"))
    return rows


def _with_leader(client: Client, seal_status: JSON) -> JSON:
    """The seal status with `sys/leader`'s HA fields, as Vault's `status` shows them."""
    try:
        leader = client.get("sys/leader", allow_404=True) or {}
    except APIError as exc:
        if not any("sealed" in e for e in exc.errors):
            raise
        leader = {"ha_enabled": True}  # as Vault: a sealed node cannot say more
    return vault_json.status(seal_status, leader)


def print_status(ctx: Context, client: Client, seal_status: JSON) -> None:
    body = _with_leader(client, seal_status)
    ctx.output().mapping(body, status_rows(body))


def status(ctx: Context) -> int:
    try:
        client = ctx.client()
        seal_status = client.get("sys/seal-status") or {}
        print_status(ctx, client, seal_status)
    except RemoteError as exc:  # `status` says 1 for an error: 2 means sealed
        ctx.io.stderr.write(f"{exc}\n")
        return LOCAL
    return SEALED if seal_status.get("sealed") else 0


def _int(ctx: Context, name: str) -> int:
    try:
        return int(ctx.opts.get_str(name))
    except ValueError:
        raise CLIError(f"-{name} must be a number") from None


def init(ctx: Context) -> int:
    client = ctx.client()
    if ctx.opts.get_bool("status"):
        initialized = bool((client.get("sys/init") or {}).get("initialized"))
        out = ctx.output()
        if out.format != "table":
            out.structured({"Initialized": initialized})  # as Vault's `operator init -status`
        else:
            out.success("Server is initialized" if initialized else "Server is not initialized")
        return 0 if initialized else REMOTE
    shares, threshold = _int(ctx, "key-shares"), _int(ctx, "key-threshold")
    request = {"secret_shares": shares, "secret_threshold": threshold}
    body = client.put("sys/init", dict(request)) or {}
    out = ctx.output()
    if not out.table:
        result = vault_json.init(request, body)
        out.mapping(result, structured=result)
        return 0
    lines = [f"Unseal Key {i}: {key}" for i, key in enumerate(body.get("keys_base64", []), 1)]
    lines += ["", f"Initial Root Token: {body.get('root_token')}", ""]
    lines.append(
        f"The server is initialised with {shares} key shares and a threshold of {threshold}. "
        "Keep the shares apart: after every start (it starts sealed), unseal it with "
        f"{threshold} of them: `awsbroker operator unseal`, once per share."
    )
    out.success("\n".join(lines))
    return 0


def _key(ctx: Context) -> str:
    if ctx.args and ctx.args[0] != "-":
        return ctx.args[0].strip()
    if ctx.args or not ctx.io.stdin.isatty():
        return ctx.io.stdin.read().strip()
    return getpass.getpass("Unseal Key (will be hidden): ").strip()


def unseal(ctx: Context) -> int:
    payload: dict[str, Any]
    if ctx.opts.get_bool("reset"):
        payload = {"reset": True}
    else:
        key = _key(ctx)
        if not key:
            raise CLIError("no unseal key given")
        payload = {"key": key}
    client = ctx.client()
    print_status(ctx, client, client.put("sys/unseal", payload) or {})
    return 0


def seal(ctx: Context) -> int:
    ctx.client().put("sys/seal")
    ctx.output().success("Success! The server is sealed.")
    return 0
