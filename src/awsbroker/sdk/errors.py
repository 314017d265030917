"""The one error tree of awsbroker. It knows nothing of HTTP; `http/errors.py` maps it to statuses.

    BrokerError
     ├── InvalidRequest          the caller sent something wrong (missing, malformed, contradictory)
     ├── PermissionDenied        no token, a bad token, or an ACL that does not allow the operation
     ├── NotFound                nothing at that path (no mount, no handler, no object)
     ├── UnsupportedOperation    the path exists but not with that operation
     ├── PayloadTooLarge         the request body is over the configured limit
     ├── RateLimited             a quota or an upstream throttle says slow down
     ├── UpstreamError           a third party (AWS) failed in a way that is not the caller's fault
     ├── NotInitialized          the server has not been initialised yet
     ├── Sealed                  the barrier is sealed; only the seal endpoints answer
     └── InternalError           our own fault; the message is generic on the wire
          ├── StorageUnavailable the storage cannot be reached now; a retry may succeed
          └── StorageTooNew      the storage's format is newer than this build reads

Every error carries a list of messages, because the wire format is `{"errors": [...]}`.
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base of the tree. `messages` are what the caller sees."""

    default_message = "error"

    def __init__(self, *messages: str) -> None:
        self.messages: list[str] = list(messages) if messages else [self.default_message]
        super().__init__("; ".join(self.messages))


class InvalidRequest(BrokerError):
    default_message = "invalid request"


class PermissionDenied(BrokerError):
    default_message = "permission denied"


class NotFound(BrokerError):
    """Nothing there. `messages` may be empty: Vault answers a bare 404 `{"errors": []}`."""

    default_message = ""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = [m for m in self.messages if m]


class UnsupportedOperation(BrokerError):
    default_message = "unsupported operation"


class PayloadTooLarge(BrokerError):
    default_message = "request body too large"


class RateLimited(BrokerError):
    """`retry_after`: whole seconds the caller should wait (the HTTP `Retry-After`), 0 unknown."""

    default_message = "rate limit exceeded"

    def __init__(self, *messages: str, retry_after: int = 0) -> None:
        super().__init__(*messages)
        self.retry_after = retry_after


class UpstreamError(BrokerError):
    default_message = "upstream error"


class NotInitialized(BrokerError):
    default_message = "Vault is not initialized"


class Sealed(BrokerError):
    default_message = "Vault is sealed"


class InternalError(BrokerError):
    default_message = "internal error"


class StorageUnavailable(InternalError):
    """The storage backend could not be reached (connection refused or lost, no connection free
    in time): nothing about the request is wrong, and the same request may succeed later. An
    `InternalError`, so code that handles those handles it too."""

    default_message = "storage unavailable"


class StorageTooNew(InternalError):
    """The storage is in a format newer than this build of awsbroker understands (another node
    upgraded it): this node must not read it, and is upgraded by its operator, not retried."""

    def __init__(self, stored: int, understood: int) -> None:
        self.stored = stored
        self.understood = understood
        super().__init__(self.at(""))

    def at(self, where: str) -> str:
        """The message, naming where the storage is (`where`; "" names nothing)."""
        place = f" at {where}" if where else ""
        return (
            f"the storage{place} has format {self.stored}, newer than this build of awsbroker"
            f" understands ({self.understood}): upgrade this node"
        )
