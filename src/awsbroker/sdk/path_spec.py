"""A backend's path spec (`Path`): a URL pattern, its fields and a handler per operation.

Apart from `framework` so that what is built from the specs alone (`openapi`, `path_help`)
sits below the framework, which answers help requests with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.logical import Operation, Request, Response

B = TypeVar("B")

Handler = Callable[[B, Request, FieldData], Response | None]
ExistenceCheck = Callable[[B, Request, FieldData], bool]


@dataclass(frozen=True)
class Path(Generic[B]):
    pattern: str
    operations: Mapping[Operation, Handler[B]]
    fields: Mapping[str, Field] = field(default_factory=dict)
    existence_check: ExistenceCheck[B] | None = None
    summary: str = ""
    description: str = ""
    # A read of this path may carry its token as a bare `Authorization` header (AWS SDKs'
    # container-credentials provider sends it so); everywhere else that header is no token.
    bare_authorization: bool = False
    # The caller presents a credential here to be checked (a secret ID lookup): an oracle as
    # good as a login, so the core throttles its failures as it throttles logins'.
    checks_credential: bool = False
    # Keys beyond `fields` are the path's data (cubbyhole/, sys/wrapping/wrap): no warning
    # that they were ignored.
    takes_any_data: bool = False
    # Request data keys the audit log keeps in clear on this path, beside the mount's
    # `audit_non_hmac_request_keys`: values that are not secrets and are worth reading there
    # (a credential's `reason`, engines/aws/reason.py).
    audit_clear: tuple[str, ...] = ()

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)
