"""What dev mode adds once the server is initialised: the root token saved where the CLI
finds it, the optional AWS emulator, and the banner that tells the user how to start."""

from __future__ import annotations

import os

from awsbroker.cli.settings import token_file, write_token_file
from awsbroker.core.core import Core
from awsbroker.server import dev_emulator
from awsbroker.server.dev_emulator import Emulator


def save_token(root_token: str) -> str:
    """Write the root token to the CLI's token file (`AWSBROKER_TOKEN_FILE`, default
    `~/.awsbroker-token`), as Vault's dev mode writes `~/.vault-token`. A line for the banner."""
    path = token_file(os.environ)
    try:
        write_token_file(path, root_token)
    except OSError as exc:
        return f"The root token could not be saved to {path}: {exc.strerror}."
    return f"The root token is saved in {path}, where the awsbroker command finds it."


def start_emulator(core: Core, root_token: str, address: str) -> Emulator:
    """Raises `dev_emulator.EmulatorUnavailable` when moto is not installed."""
    return dev_emulator.start(core, root_token, address)


def banner(
    address: str, unseal_key: str, root_token: str, token_line: str, emulator: Emulator | None
) -> str:
    url = f"http://{address}"
    lines = [
        "awsbroker is running in dev mode: in-memory storage, unsealed, aws/ mounted.",
        "Do not run dev mode in production.",
        "",
        f"    export VAULT_ADDR='{url}'    # read by awsbroker and Vault clients alike",
        f"    Unseal Key: {unseal_key}",
        f"    Root Token: {root_token}",
        "",
        token_line,
    ]
    if emulator is not None:
        lines += [
            "",
            f"AWS emulator (moto) on {emulator.endpoint}; aws/ is configured against it with",
            "one example role per credential type: " + ", ".join(emulator.roles) + ".",
            f"The emulator's own log is in {emulator.log_path}.",
            "",
            "    awsbroker read aws/creds/iam-user",
            f"    AWS_ENDPOINT_URL={emulator.endpoint} awsbroker aws exec --region us-east-1 \\",
            "      iam-user -- \\",
            "      python -c \"import boto3; print(boto3.client('sts').get_caller_identity())\"",
        ]
    return "\n".join(lines) + "\n"
