"""`sys/internal/specs/openapi`: an OpenAPI 3 description of every mounted backend, as Vault
serves it, generated from the backends' declared path specs (`sdk/openapi.py`).

It documents the running server: `sys/`, `auth/token/` and each engine at its mount path (two
AWS mounts give two sets of paths). Vault lets any caller read it; here it takes a token whose
policies allow `read` on the path, and the built-in `default` policy grants that, so any valid
token may read it unless it was made with `no_default_policy` (or the policy was edited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker import __version__
from awsbroker.core.router import Route
from awsbroker.policy.builtin import is_root_path
from awsbroker.sdk import openapi
from awsbroker.sdk.fields import FieldData
from awsbroker.sdk.framework import FrameworkBackend, Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

DESCRIPTION = (
    "awsbroker's HTTP API, which is Vault's for the paths it serves. All routes are prefixed "
    "with `/v1/`. LIST is also `GET ?list=true`; `PUT` is a synonym of `POST`."
)


def paths() -> list[Path[SystemBackend]]:
    return [
        Path(
            "internal/specs/openapi",
            {Operation.READ: read_openapi},
            summary="An OpenAPI 3 document of every mounted backend",
        )
    ]


def read_openapi(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    routes = sorted(b.core.router.routes(), key=lambda route: route.mount_path)
    mounts = [_mount(route) for route in routes if isinstance(route.backend, FrameworkBackend)]
    info = openapi.Info(title="awsbroker", version=__version__, description=DESCRIPTION)
    return Response(raw=openapi.document(mounts, info))


def _mount(route: Route) -> openapi.Mount:
    backend = route.backend
    assert isinstance(backend, FrameworkBackend)
    kind = route.entry.type
    root, unauthenticated = list(backend.root_paths), list(backend.unauthenticated_paths)
    return openapi.Mount(
        path=route.mount_path,
        specs=backend.paths,
        tag={"system": "system", "token": "auth"}.get(kind, "secrets"),
        sudo=lambda path: is_root_path(path, root),
        unauthenticated=lambda path: is_root_path(path, unauthenticated),
    )
