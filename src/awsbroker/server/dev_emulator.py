"""`awsbroker server --dev --dev-aws-emulator`: a first run with no AWS account.

Starts moto (an AWS emulator; `pip install 'awsbroker[emulator]'`) in this process on
loopback, points the dev server's `aws/` mount at it with a bootstrapped admin key, and
creates one example role of each credential type:

| role | credential_type |
| --- | --- |
| `iam-user` | `iam_user`: a new IAM user and key per read, revoked with the lease |
| `assumed-role` | `assumed_role`: AssumeRole of the IAM role `awsbroker-example` |
| `federation-token` | `federation_token`: GetFederationToken, limited by the role's policy |
| `session-token` | `session_token`: GetSessionToken of the broker's own IAM user |

Everything is in memory and gone when the server stops. The emulator's own log (a line per
AWS call, and a traceback for each call moto does not implement) goes to a file in a new
temporary directory, named in the start-up banner, not to the terminal.

The emulator runs with moto's default of not checking signatures or IAM policies: moto hands
out fixed example keys for GetFederationToken and GetSessionToken, which its own checks would
refuse, and a first run should show every credential type working. (The test suite runs moto
with its checks on, for the types whose keys moto can check: `tests/integration/aws/`.)
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awsbroker.core.core import Core
from awsbroker.engines.aws.transport.emulator_seed import seed_iam
from awsbroker.sdk.logical import JSONObject, Operation, Request

REGION = "us-east-1"
ADMIN_USER = "awsbroker-dev-admin"
EXAMPLE_ROLE = "awsbroker-example"
# Any key signs: the emulator does not check signatures.
_BOOTSTRAP_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
# What the example credentials may do: read S3 and ask who they are.
EXAMPLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:Get*", "s3:List*", "sts:GetCallerIdentity"],
                "Resource": "*",
            }
        ],
    }
)
TRUST_ANYONE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)
INSTALL_HINT = "the AWS emulator needs moto: pip install 'awsbroker[emulator]'"
# The loggers of moto's HTTP server (werkzeug) and of moto itself (its Flask app is "moto").
EMULATOR_LOGGERS = ("werkzeug", "moto")
LOG_FORMAT = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"


class EmulatorUnavailable(Exception):
    """moto is not installed, or would not start."""


@dataclass
class Emulator:
    endpoint: str
    roles: list[str]
    log_path: Path
    _server: Any
    _log: logging.Handler

    def stop(self) -> None:
        self._server.stop()
        _close_log(self._log)


def _log_to_file() -> tuple[Path, logging.Handler]:
    """Send the emulator's loggers to `awsbroker-dev-*/emulator.log` in the temp directory,
    and not on to the server's handler (the terminal)."""
    path = Path(tempfile.mkdtemp(prefix="awsbroker-dev-")) / "emulator.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in EMULATOR_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return path, handler


def _close_log(handler: logging.Handler) -> None:
    for name in EMULATOR_LOGGERS:
        logging.getLogger(name).removeHandler(handler)
    handler.close()


def start(core: Core, root_token: str, address: str) -> Emulator:
    """Start moto on `address` (HOST:PORT, port 0 for any) and configure `aws/` against it."""
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - optional (dev extra)
    except ImportError:
        raise EmulatorUnavailable(INSTALL_HINT) from None
    log_path, handler = _log_to_file()
    host, _, port = address.rpartition(":")
    server = ThreadedMotoServer(ip_address=host or "127.0.0.1", port=int(port or 0), verbose=False)
    try:
        server.start()
    except BaseException:
        _close_log(handler)
        raise
    bound_host, bound_port = server.get_host_and_port()
    endpoint = f"http://{bound_host}:{bound_port}"
    try:
        access_key, secret_key, role_arn = _bootstrap(endpoint)
        roles = _configure(
            core,
            root_token,
            endpoint=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            role_arn=role_arn,
        )
    except Exception:
        server.stop()
        _close_log(handler)
        raise
    return Emulator(endpoint, roles, log_path, server, handler)


def _bootstrap(endpoint: str) -> tuple[str, str, str]:
    """The broker's admin user and key, and the role that `assumed-role` assumes."""
    seeded = seed_iam(
        endpoint,
        region=REGION,
        signing_key=_BOOTSTRAP_KEY,
        admin_user=ADMIN_USER,
        admin_policy=ALLOW_ALL,
        role_name=EXAMPLE_ROLE,
        trust_policy=TRUST_ANYONE,
        role_policy=EXAMPLE_POLICY,
    )
    return seeded.access_key, seeded.secret_key, seeded.role_arn


def _configure(
    core: Core, token: str, *, endpoint: str, access_key: str, secret_key: str, role_arn: str
) -> list[str]:
    def write(path: str, data: JSONObject) -> None:
        core.handle(Request(Operation.UPDATE, path, data, client_token=token))

    write(
        "aws/config/root",
        {
            "access_key": access_key,
            "secret_key": secret_key,
            "region": REGION,
            "iam_endpoint": endpoint,
            "sts_endpoint": endpoint,
        },
    )
    roles: dict[str, JSONObject] = {
        "iam-user": {"credential_type": "iam_user", "policy_document": EXAMPLE_POLICY},
        "assumed-role": {"credential_type": "assumed_role", "role_arns": [role_arn]},
        "federation-token": {
            "credential_type": "federation_token",
            "policy_document": EXAMPLE_POLICY,
        },
        "session-token": {"credential_type": "session_token"},
    }
    for name, role in roles.items():
        write(f"aws/roles/{name}", role)
    return list(roles)
