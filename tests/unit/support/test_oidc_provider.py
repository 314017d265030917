"""The loopback OpenID provider's install rule: without node and npm its tests skip, and
under `CI` they fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import oidc_provider


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No install yet, and neither node nor npm on PATH."""
    monkeypatch.setattr(oidc_provider, "install_dir", lambda: tmp_path / "provider")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@pytest.mark.usefixtures("nowhere")
def test_without_node_the_tests_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="node and npm not found on PATH"):
        oidc_provider.require()


@pytest.mark.usefixtures("nowhere")
def test_without_node_under_ci_the_tests_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so these tests must run"):
        oidc_provider.require()
