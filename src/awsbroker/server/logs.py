"""The server's logs: one line per record, `standard` (key=value) or `json` (Vault's names),
with the request ID on every line written while a request is served, and no secrets.

Nothing in awsbroker logs tokens, keys or request and response data; on top of that, every
line goes through `redact`, which masks anything shaped like a Vault token or an AWS secret
key, in case an exception message carries one. The AWS SDK's own loggers are held at WARNING:
at DEBUG, botocore logs whole request and response bodies, secret keys included.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

from awsbroker.sdk.logcontext import REQUEST_ID

LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# Third-party loggers that would print secrets (bodies, headers) at DEBUG.
HELD_AT_WARNING = ("botocore", "boto3", "s3transfer", "urllib3", "hvac")
# The HTTP server's loggers (server/listener.py): granian's, through our handler like the rest.
HTTP_SERVER = ("_granian", "granian.access")
REDACTED = "<redacted>"
_TOKEN = re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{8,}")
# An AWS secret access key is 40 characters of base64; a session token is hundreds.
_BASE64 = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40,}={0,2}(?![A-Za-z0-9/+=])")


def redact(text: str) -> str:
    text = _TOKEN.sub(REDACTED, text)
    return _BASE64.sub(_mask_key, text)


def _mask_key(match: re.Match[str]) -> str:
    value = match.group(0)
    # Exactly 40 characters of mixed case is a secret key's shape (a hex digest is lowercase);
    # a hundred or more is a session token's. A lease ID can have the shape too, and is
    # masked with them: a safety net may err on the side of hiding.
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    length = len(value.rstrip("="))
    return REDACTED if (length == 40 and mixed) or length >= 100 else value


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.isoformat(timespec="milliseconds")[:-6] + "Z"


def _message(record: logging.LogRecord) -> str:
    return redact(record.getMessage())


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    return redact(formatter.formatException(record.exc_info)) if record.exc_info else ""


class StandardFormatter(logging.Formatter):
    """`2024-05-01T10:00:00.000Z [INFO]  awsbroker.core: message request_id=...`"""

    def format(self, record: logging.LogRecord) -> str:
        level = f"[{record.levelname}]"
        line = f"{_timestamp(record)} {level:<7} {record.name}: {_message(record)}"
        request_id = REQUEST_ID.get()
        if request_id:
            line += f" request_id={request_id}"
        exception = _exception(self, record)
        return f"{line}\n{exception}" if exception else line


class JSONFormatter(logging.Formatter):
    """One JSON object per line, with hclog's field names (`@level`, `@message`...)."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, str] = {
            "@timestamp": _timestamp(record),
            "@level": record.levelname.lower(),
            "@module": record.name,
            "@message": _message(record),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            fields["request_id"] = request_id
        exception = _exception(self, record)
        if exception:
            fields["exception"] = exception
        return json.dumps(fields, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "standard", stream: TextIO | None = None) -> None:
    """Route every logger (the HTTP server's too) to one handler on `stream` (stderr) in `fmt`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else StandardFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = LEVELS.get(level, logging.INFO)
    root.setLevel(numeric)
    for name in HTTP_SERVER:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    for name in HELD_AT_WARNING:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
