"""`sys/metrics`: the core's metrics, as Prometheus text (`?format=prometheus`) or JSON.

Readable with a token that may read `sys/metrics`, or by anyone when the listener's
`telemetry { unauthenticated_metrics_access = true }` says so (then it also answers while
sealed, and is not audited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core.metrics import PROMETHEUS_CONTENT_TYPE
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, RawBody, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend


def paths() -> list[Path[SystemBackend]]:
    return [
        Path(
            "metrics",
            {Operation.READ: read_metrics},
            {"format": Field(T.STRING, "'prometheus' for the text exposition; else JSON")},
            summary="Server metrics",
        )
    ]


def read_metrics(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    fmt = fd.get_str("format")
    if fmt == "prometheus":
        return Response(body=RawBody(b.core.metrics.prometheus(), PROMETHEUS_CONTENT_TYPE))
    if fmt:
        raise InvalidRequest(f"unsupported format {fmt!r}: use 'prometheus', or none for JSON")
    return Response(raw=b.core.metrics.summary())
