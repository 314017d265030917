"""AWS failures as the engine sees them: which exceptions a call raises, their code, and the
broker error a caller gets (502 when throttled, else 400 with AWS's code)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.exceptions
import botocore.parsers

from awsbroker.sdk.errors import BrokerError, InvalidRequest, UpstreamError

# The AWS SDKs' list of throttling codes (Go SDK `request.IsErrorThrottle`).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestThrottled",
    "RequestLimitExceeded", "PriorRequestNotComplete", "TransactionInProgressException",
    "EC2ThrottledException", "SlowDown",
})  # fmt: skip
# Everything a boto3 call raises when AWS (or something in between) answers badly. A response
# that is not AWS's XML (an HTML 5xx from a proxy, moto's unimplemented actions) raises
# ResponseParserError, which is not a BotoCoreError.
AWS_ERRORS = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
    botocore.parsers.ResponseParserError,
)


def error_code(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def gone_is_done() -> Iterator[None]:
    """For a removal: AWS's NoSuchEntity (already gone) is success, any other error is raised."""
    try:
        yield
    except AWS_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":
            raise


def unsupported(exc: Exception) -> bool:
    """Whether AWS's answer says the endpoint does not implement the call: a NotImplemented
    code, HTTP 501, or a 500 or a page that is not AWS's XML (what moto answers)."""
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return True
    status = 0
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error_code(exc) == "NotImplemented" or status in (500, 501)


def short_answer(exc: Exception) -> str:
    """AWS's answer in a few words, never the body (an HTML page would fill the log)."""
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return "a response that is not AWS's XML"
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return f"{error_code(exc) or 'an error'} (HTTP {status})"
    return type(exc).__name__


def aws_error(prefix: str, exc: Exception) -> BrokerError:
    """An AWS failure as the caller sees it: 502 when throttled, else 400 with AWS's code."""
    if isinstance(exc, BrokerError):
        return exc
    code = error_code(exc)
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = exc.response.get("Error", {}).get("Message", "")
        text = f"{prefix}: {code}: {message}"
        if code in THROTTLING_CODES or status == 429:
            return UpstreamError(text)
        return InvalidRequest(text)
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        # The SDK refused the request before sending it (a TTL under 900 s, a one-character
        # external_id...): the caller's input, as the Go SDK's InvalidParameter is in Vault.
        return InvalidRequest(f"{prefix}: InvalidParameter: {exc}")
    if isinstance(exc, botocore.exceptions.BotoCoreError | botocore.parsers.ResponseParserError):
        # Connection failures, missing credentials, timeouts, garbled answers: AWS unreachable
        # or unusable.
        return UpstreamError(f"{prefix}: {exc}")
    raise exc
