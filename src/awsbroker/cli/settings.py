"""Where the CLI finds its server, its token and its TLS trust: flags, then the environment,
then (for the token) the token file.

Each setting is looked up in order: the flag; `AWSBROKER_*`; `VAULT_*` (so a shell set up for
the `vault` command works unchanged); a default. The token's last resort is the token file
(`AWSBROKER_TOKEN_FILE`, default `~/.awsbroker-token`) that `awsbroker login` and
`awsbroker server --dev` write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag, Parsed, parse_bool

DEFAULT_ADDRESS = "http://127.0.0.1:8200"
TOKEN_FILE_NAME = ".awsbroker-token"  # noqa: S105 - a file name


def connection_flags() -> list[Flag]:
    return [
        Flag("address", "The server's address (AWSBROKER_ADDR, VAULT_ADDR)", metavar="URL"),
        Flag("ca-cert", "A PEM file of CAs to trust (AWSBROKER_CACERT, VAULT_CACERT)", "", "FILE"),
        Flag("tls-skip-verify", "Do not verify the server's certificate (development only)", False),
        Flag(
            "wrap-ttl",
            "Answer a single-use wrapping token with this TTL instead of the response "
            "(VAULT_WRAP_TTL); `awsbroker unwrap` reads it",
            "",
            "DURATION",
        ),
    ]


@dataclass(frozen=True)
class Settings:
    address: str
    address_source: str
    token: str
    token_source: str
    ca_cert: str
    skip_verify: bool
    wrap_ttl: str = ""  # sent as X-Vault-Wrap-TTL on every request


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str]:
    for name in names:
        value = env.get(name, "")
        if value:
            return value, name
    return "", ""


def home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def token_file(env: Mapping[str, str]) -> Path:
    override = env.get("AWSBROKER_TOKEN_FILE", "")
    return Path(override) if override else home(env) / TOKEN_FILE_NAME


def read_token_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise CLIError(f"cannot read the token file {path}: {exc.strerror}") from None


def write_token_file(path: Path, token: str) -> None:
    """Write `token` to `path`, readable by its owner only (0600, also when it existed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode("utf-8"))
    finally:
        os.close(fd)


def resolve(env: Mapping[str, str], opts: Parsed) -> Settings:
    address, address_source = opts.get_str("address"), "-address"
    if not address:
        address, address_source = _first(env, "AWSBROKER_ADDR", "VAULT_ADDR")
    if not address:
        address, address_source = DEFAULT_ADDRESS, "the default"
    token, token_source = _first(env, "AWSBROKER_TOKEN", "VAULT_TOKEN")
    if not token:
        path = token_file(env)
        token = read_token_file(path)
        token_source = f"the token file {path}" if token else ""
    ca_cert = opts.get_str("ca-cert") or _first(env, "AWSBROKER_CACERT", "VAULT_CACERT")[0]
    skip = opts.get_bool("tls-skip-verify")
    if not skip:
        raw, name = _first(env, "AWSBROKER_SKIP_VERIFY", "VAULT_SKIP_VERIFY")
        skip = parse_bool(raw, name) if raw else False
    return Settings(
        address=address.rstrip("/"),
        address_source=address_source,
        token=token,
        token_source=token_source,
        ca_cert=ca_cert,
        skip_verify=skip,
        wrap_ttl=opts.get_str("wrap-ttl") or _first(env, "AWSBROKER_WRAP_TTL", "VAULT_WRAP_TTL")[0],
    )
