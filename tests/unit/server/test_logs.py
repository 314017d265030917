"""Server logs: standard and JSON lines, request IDs, redaction, and the loggers of the HTTP
server and botocore."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from awsbroker.sdk.logcontext import REQUEST_ID
from awsbroker.server.logs import REDACTED, redact, setup_logging

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters, mixed case


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("botocore", "_granian")}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def capture(level: str, fmt: str) -> io.StringIO:
    stream = io.StringIO()
    setup_logging(level, fmt, stream)
    return stream


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_request_id_while_a_request_is_served() -> None:
    stream = capture("info", "json")
    log = logging.getLogger("awsbroker.core")
    log.info("outside")
    token = REQUEST_ID.set("req-42")
    try:
        log.warning("inside %s", "a request")
    finally:
        REQUEST_ID.reset(token)
    outside, inside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert outside["@message"] == "outside"
    assert "request_id" not in outside
    assert inside["@level"] == "warning"
    assert inside["@module"] == "awsbroker.core"
    assert inside["@message"] == "inside a request"
    assert inside["request_id"] == "req-42"
    assert inside["@timestamp"].endswith("Z")


@pytest.mark.usefixtures("restore_logging")
def test_standard_lines_are_key_value_and_include_exceptions() -> None:
    stream = capture("debug", "standard")
    token = REQUEST_ID.set("req-7")
    try:
        try:
            raise ValueError(f"bad key {SECRET_KEY}")
        except ValueError:
            logging.getLogger("awsbroker.http").exception("failed")
    finally:
        REQUEST_ID.reset(token)
    text = stream.getvalue()
    first = text.splitlines()[0]
    assert "[ERROR]" in first
    assert "awsbroker.http: failed request_id=req-7" in first
    assert "ValueError" in text
    assert SECRET_KEY not in text, "exception messages are redacted too"


def test_redact_masks_tokens_and_secret_keys_but_not_identifiers() -> None:
    assert redact("token hvs.AbCdEf0123456789xyz used") == f"token {REDACTED} used"
    assert redact(f"key={SECRET_KEY}") == f"key={REDACTED}"
    digest = "a" * 40
    assert redact(f"hash {digest}") == f"hash {digest}"
    assert redact("lease aws/creds/r/abc") == "lease aws/creds/r/abc"
    session = "FwoGZXIvYXdzE" * 20
    assert redact(session) == REDACTED


@pytest.mark.usefixtures("restore_logging")
def test_botocore_is_held_at_warning_and_the_http_server_goes_through_our_handler() -> None:
    stream = capture("debug", "json")
    logging.getLogger("botocore.parsers").debug("Response body: %s", SECRET_KEY)
    logging.getLogger("_granian").error("Unexpected exit from worker-1")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["@module"] for line in lines] == ["_granian"]
    assert logging.getLogger("botocore").level == logging.WARNING
