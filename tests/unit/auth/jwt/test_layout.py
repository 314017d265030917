"""What docs/dependencies.md promises about PyJWT: one module of ours imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import awsbroker

SRC = Path(awsbroker.__file__).parent


def _imports_jwt(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "jwt" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "jwt":
            return True
    return False


def test_only_jws_imports_pyjwt() -> None:
    importers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _imports_jwt(p))
    assert importers == ["auth/jwt/jws.py"]
