"""The AWS CLI (`aws`, the dev extra's awscli), which the guides' blocks and the SDK tests run."""

from __future__ import annotations

import os
import shutil

import pytest


def require() -> str:
    """The `aws` command's path; else fail under `CI`, skip elsewhere."""
    aws = shutil.which("aws")
    if aws is not None:
        return aws
    message = "the AWS CLI (aws) is not installed (the dev extra's awscli)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so these tests must run", pytrace=False)
    pytest.skip(f"{message}: run scripts/bootstrap dev")
