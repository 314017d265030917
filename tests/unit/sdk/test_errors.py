"""The error tree: messages, defaults, and the shape the HTTP layer relies on."""

from __future__ import annotations

import pytest

from awsbroker.sdk import errors


@pytest.mark.parametrize(
    ("cls", "default"),
    [
        (errors.BrokerError, "error"),
        (errors.InvalidRequest, "invalid request"),
        (errors.PermissionDenied, "permission denied"),
        (errors.UnsupportedOperation, "unsupported operation"),
        (errors.PayloadTooLarge, "request body too large"),
        (errors.RateLimited, "rate limit exceeded"),
        (errors.UpstreamError, "upstream error"),
        (errors.NotInitialized, "Vault is not initialized"),
        (errors.Sealed, "Vault is sealed"),
        (errors.InternalError, "internal error"),
    ],
)
def test_default_message(cls: type[errors.BrokerError], default: str) -> None:
    err = cls()
    assert err.messages == [default]
    assert str(err) == default


def test_every_error_is_a_broker_error() -> None:
    subclasses = errors.BrokerError.__subclasses__()
    assert len(subclasses) == 10
    for cls in subclasses:
        assert issubclass(cls, errors.BrokerError)
        assert issubclass(cls, Exception)


def test_several_messages_are_kept_in_order_and_joined_for_str() -> None:
    err = errors.InvalidRequest("first", "second")
    assert err.messages == ["first", "second"]
    assert str(err) == "first; second"


def test_not_found_may_have_no_message() -> None:
    assert errors.NotFound().messages == []
    assert errors.NotFound("").messages == []
    assert errors.NotFound("", "gone").messages == ["gone"]
    assert str(errors.NotFound("no such thing")) == "no such thing"


def test_messages_are_per_instance() -> None:
    a = errors.InvalidRequest()
    a.messages.append("extra")
    assert errors.InvalidRequest().messages == ["invalid request"]


def test_storage_too_new_names_both_formats_and_what_to_do() -> None:
    err = errors.StorageTooNew(3, 2)
    assert isinstance(err, errors.InternalError)
    assert (err.stored, err.understood) == (3, 2)
    assert str(err) == (
        "the storage has format 3, newer than this build of awsbroker understands (2): "
        "upgrade this node"
    )
    assert err.at("/var/lib/awsbroker.db").startswith("the storage at /var/lib/awsbroker.db has")
