"""`cubbyhole/`: per-token private storage, mounted on every server as in Vault.

Each token's values live behind the barrier at `cubbyhole/<token hash>/<path>`, the token hash
being the token store's HMAC of the token (never the token). The core hands this backend the
hash of the token it authorized (`Request.token_hash`), and the backend reads and writes only
under it: no token, root included, can reach another's cubbyhole. A token's cubbyhole is
deleted by a revocation hook of the token store, which runs whenever the token is revoked or
expires, on whichever node does it; a write that races the revocation deletes what it wrote
once it sees the token gone (as `Core._register_lease` does for leases). A wrapped response
lives in its wrapping token's cubbyhole (core/wrapping.py).
"""

from __future__ import annotations

import json

from awsbroker.core.mounts import MountEntry
from awsbroker.core.tokens import TokenEntry, TokenStore
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import FrameworkBackend, Path, list_response
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response
from awsbroker.sdk.storage import Storage, list_recursive

R, U, C, D, L = (
    Operation.READ,
    Operation.UPDATE,
    Operation.CREATE,
    Operation.DELETE,
    Operation.LIST,
)
# Built in, like `sys/`: not in the mount table, the same on every node.
CUBBYHOLE_ENTRY = MountEntry(
    "cubbyhole/",
    "cubbyhole",
    "cubbyhole_00000000",
    "cubbyhole",
    "per-token private secret storage",
    local=True,
)
STORAGE_PREFIX = "cubbyhole/"  # of the barrier
RESPONSE_PATH = "response"
WRAPINFO_PATH = "wrapinfo"
_DEPRECATED_READ = (
    "Reading from 'cubbyhole/response' is deprecated. Please use sys/wrapping/unwrap to unwrap "
    "responses, as it provides additional security checks and other benefits."
)


def paths() -> list[Path[CubbyholeBackend]]:
    return [
        Path(
            "(?P<path>.*)",
            {R: read_secret, U: write_secret, C: write_secret, D: delete_secret, L: list_secrets},
            {"path": Field(T.STRING, "Specifies the path of the secret.")},
            existence_check=_exists,
            summary="Per-token private secret storage",
            takes_any_data=True,
        )
    ]


class CubbyholeBackend(FrameworkBackend["CubbyholeBackend"]):
    def __init__(self, storage: Storage, tokens: TokenStore) -> None:
        super().__init__(self, paths())
        self.storage = storage  # a view of the barrier at `cubbyhole/`
        self.tokens = tokens

    # ---- one token's values, for the handlers and core/wrapping.py -------------------------

    def get(self, token_hash: str, path: str) -> JSONObject | None:
        blob = self.storage.get(_key(token_hash, path))
        if blob is None:
            return None
        value: JSONObject = json.loads(blob)
        return value

    def put(self, token_hash: str, path: str, data: JSONObject) -> None:
        self.storage.put(_key(token_hash, path), json.dumps(data).encode())

    def destroy(self, token: TokenEntry) -> None:
        """The token store's revocation hook: the token's cubbyhole goes with it."""
        for key in list_recursive(self.storage, f"{token.hash}/"):
            self.storage.delete(key)


def _key(token_hash: str, path: str) -> str:
    if not token_hash:
        raise PermissionDenied("permission denied")
    if not path:
        raise InvalidRequest("missing path")
    if path.startswith("/") or path.endswith("/") or ".." in path.split("/"):
        raise InvalidRequest(f"invalid cubbyhole path {path!r}: a secret's path is a/b/c")
    return f"{token_hash}/{path}"


def _exists(b: CubbyholeBackend, req: Request, fd: FieldData) -> bool:
    # Asked before the core hands over the token's hash: the request's token is the owner.
    owner = req.token_hash or (b.tokens.hash(req.client_token) if req.client_token else "")
    try:
        return b.get(owner, fd.get_str("path")) is not None
    except InvalidRequest:
        return False  # no such path: the handler says why


def read_secret(b: CubbyholeBackend, req: Request, fd: FieldData) -> Response | None:
    if fd.get_str("path").endswith("/"):
        return None  # a folder holds no value: 404, as Vault
    data = b.get(req.token_hash, fd.get_str("path"))
    if data is None:
        return None
    response = Response(data=data)
    wrapping = req.caller is not None and req.caller.policies == ("response-wrapping",)
    if wrapping and fd.get_str("path") == RESPONSE_PATH:
        response.add_warning(_DEPRECATED_READ)
    return response


def write_secret(b: CubbyholeBackend, req: Request, fd: FieldData) -> None:
    if not req.data:
        raise InvalidRequest("missing data fields")
    path = fd.get_str("path")
    if path.endswith("/"):
        raise InvalidRequest("cannot write to a path ending in '/'")
    b.put(req.token_hash, path, dict(req.data))
    if b.tokens.get_by_hash(req.token_hash) is None:
        # Revoked (or expired) on some node while this ran, perhaps after its cubbyhole was
        # swept: nothing may outlive it.
        b.storage.delete(_key(req.token_hash, path))
        raise PermissionDenied("permission denied")


def delete_secret(b: CubbyholeBackend, req: Request, fd: FieldData) -> None:
    if not fd.get_str("path").endswith("/"):  # a folder holds no value: nothing to delete
        b.storage.delete(_key(req.token_hash, fd.get_str("path")))


def list_secrets(b: CubbyholeBackend, req: Request, fd: FieldData) -> Response:
    if not req.token_hash:
        raise PermissionDenied("permission denied")
    path = fd.get_str("path")
    if path and not path.endswith("/"):
        path += "/"
    if path.startswith("/") or ".." in path.split("/"):
        raise InvalidRequest(f"invalid cubbyhole path {path!r}")
    return list_response(b.storage.list(f"{req.token_hash}/{path}"))
