"""`config/rotate-root`: replace the engine's own access key now (POST/PUT only; GET is 405).

The rotation itself is `root_rotation.rotate`: verified and crash-safe, where Vault's is
neither. The answer is Vault's: `{"access_key": "<new key ID>"}`; the secret is never shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.engines.aws import root_rotation
from awsbroker.sdk.fields import FieldData
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            "config/rotate-root",
            {Operation.UPDATE: rotate_root},
            summary="Rotate the root credentials the engine uses",
            description=(
                "Creates a new access key for the engine's IAM user, proves it works, stores "
                "it, and deletes the old one. A user that already has two access keys is "
                "refused, unless the second is the broker's own unfinished rotation."
            ),
        )
    ]


def rotate_root(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    with b.rotation_lock:
        return Response(data={"access_key": root_rotation.rotate(b)})
