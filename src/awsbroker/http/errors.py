"""The one table from the error tree to HTTP statuses, and the `{"errors": [...]}` body."""

from __future__ import annotations

from awsbroker.http.asgi import Answer, header_pairs, json_answer
from awsbroker.sdk import errors

STATUS: dict[type[errors.BrokerError], int] = {
    errors.InvalidRequest: 400,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.UnsupportedOperation: 405,
    errors.PayloadTooLarge: 413,
    errors.RateLimited: 429,
    errors.InternalError: 500,
    # Nothing is wrong with the request and a retry may succeed: what load balancers and
    # clients retry on. Vault answers 500; docs/compatibility.md.
    errors.StorageUnavailable: 503,
    errors.NotInitialized: 501,
    errors.UpstreamError: 502,
    errors.Sealed: 503,
}
HEADERS = {"Cache-Control": "no-store"}
# A tuple: every answer copies it, and none can change it for the next.
HEADER_PAIRS = tuple(header_pairs(HEADERS))


def status_for(error: errors.BrokerError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_answer(status: int, messages: list[str]) -> Answer:
    """The API's error answer (the console's, ui.py, has the same body and headers)."""
    return json_answer({"errors": messages}, status, HEADER_PAIRS)


def from_error(error: errors.BrokerError) -> Answer:
    # Errors of the tree carry messages written for the caller (Vault answers handler errors
    # with their text, 500 included); an unexpected exception never reaches here.
    answer = error_answer(status_for(error), error.messages)
    if isinstance(error, errors.RateLimited) and error.retry_after > 0:
        answer.set("Retry-After", str(error.retry_after))
    return answer
