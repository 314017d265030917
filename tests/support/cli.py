"""Run the installed `awsbroker` command as a user would: a subprocess with its own
environment (no AWSBROKER_*, VAULT_* or AWS_* settings leak in from the test runner), HOME in
a temporary directory, and the token file and credential cache inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

AWSBROKER = Path(sys.executable).parent / "awsbroker"
_LEAKY = ("AWSBROKER_", "VAULT_", "AWS_")


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY)}


@dataclass
class CLI:
    """The command, with an environment: `env` is the base; each run may add or drop keys."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert AWSBROKER.exists(), f"the awsbroker console script is not installed: {AWSBROKER}"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **clean_environ(),
            "HOME": str(self.home),
            "AWSBROKER_TOKEN_FILE": str(self.home / ".awsbroker-token"),
            "AWSBROKER_CACHE_DIR": str(self.home / "cache"),
            **self.env,
        }

    def run(
        self,
        *args: str,
        env: Mapping[str, str | None] | None = None,
        stdin: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        merged = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return subprocess.run(
            [str(AWSBROKER), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=merged,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, **kwargs: object) -> str:
        """Run; it must exit 0. Its stdout."""
        result = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
        return result.stdout
