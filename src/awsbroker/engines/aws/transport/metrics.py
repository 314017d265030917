"""Metrics of every AWS API call, from botocore's events: counted by service, operation and
error code (`''` on success), and timed, retries included.

`instrument(client, telemetry)` hooks a client's `before-call` (start the clock),
`after-call` (an answer, maybe an AWS error) and `after-call-error` (no answer: a connection
failure or a timeout, labelled with the exception's name). Nothing else in the engine changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from botocore.client import BaseClient

from awsbroker.sdk.telemetry import AWS_CALL_SECONDS, AWS_CALLS, Telemetry

_STARTED = "awsbroker_call_started"


class _Hooks:
    def __init__(self, service: str, telemetry: Telemetry) -> None:
        self.service = service
        self.telemetry = telemetry

    def before(self, context: dict[str, object], **kwargs: object) -> None:
        context[_STARTED] = time.monotonic()

    def after(
        self,
        context: dict[str, object],
        parsed: Mapping[str, object],
        event_name: str,
        **kwargs: object,
    ) -> None:
        error = parsed.get("Error")
        code = str(error.get("Code", "")) if isinstance(error, Mapping) else ""
        self._record(context, event_name, code)

    def failed(
        self,
        context: dict[str, object],
        exception: BaseException,
        event_name: str,
        **kwargs: object,
    ) -> None:
        self._record(context, event_name, type(exception).__name__)

    def _record(self, context: dict[str, object], event_name: str, code: str) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.telemetry.count(
            AWS_CALLS, {"service": self.service, "operation": operation, "error_code": code}
        )
        started = context.get(_STARTED)
        if isinstance(started, float):
            self.telemetry.observe(
                AWS_CALL_SECONDS,
                time.monotonic() - started,
                {"service": self.service, "operation": operation},
            )


def instrument(client: BaseClient, telemetry: Telemetry) -> None:
    service = client.meta.service_model.service_name
    service_id = client.meta.service_model.service_id.hyphenize()
    hooks = _Hooks(service, telemetry)
    events = client.meta.events
    events.register(f"before-call.{service_id}", hooks.before)
    events.register(f"after-call.{service_id}", hooks.after)
    events.register(f"after-call-error.{service_id}", hooks.failed)
