"""The PostgreSQL test fixture skips locally and fails under CI when the server is away."""

from __future__ import annotations

import pytest
from tests.support import postgres

UNREACHABLE = "postgresql://broker:s3cret-pw@127.0.0.1:1/awsbroker"


def test_describe_hides_the_password() -> None:
    assert postgres.describe(UNREACHABLE) == "127.0.0.1:1/awsbroker"


def test_unreachable_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"not reachable at 127\.0\.0\.1:1/awsbroker"):
        postgres.require_server(UNREACHABLE)


def test_unreachable_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set") as caught:
        postgres.require_server(UNREACHABLE)
    assert "s3cret-pw" not in str(caught.value)


def test_dsn_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWSBROKER_TEST_PG_DSN", "postgresql://elsewhere/db")
    assert postgres.dsn() == "postgresql://elsewhere/db"
    monkeypatch.delenv("AWSBROKER_TEST_PG_DSN")
    assert postgres.dsn() == postgres.DEFAULT_DSN
