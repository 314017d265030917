"""Response wrapping, as Vault's `vault/wrapping.go`.

A request with `X-Vault-Wrap-TTL` (or a handler asking, as `sys/wrapping/rewrap` does) gets,
instead of its response, a *wrapping token*: an orphan service token with the one policy
`response-wrapping`, one use, and the wrap TTL as its TTL and explicit max TTL. The response's
envelope, as it would have been sent, is stored in that token's cubbyhole (`response`, with
`wrapinfo` for `sys/wrapping/lookup`) before the token exists, so a token is never without its
response. Everything the response made (a lease, a token) was registered for the caller before
wrapping, exactly as unwrapped: the wrapped lease is the caller's to renew and revoke.

Unwrapping spends the token's one use by compare-and-set of its record (`TokenStore.use`), so
of several unwraps racing on any nodes exactly one reads the response; then the token is
revoked, and its cubbyhole with it. An expired or revoked token, or one that is not a wrapping
token, answers Vault's 400 `wrapping token is not valid or does not exist`, checked before the
ACL (`validate`), as in Vault.
"""

from __future__ import annotations

import base64
import json

from awsbroker.core.cubbyhole import RESPONSE_PATH, WRAPINFO_PATH, CubbyholeBackend
from awsbroker.core.tokens import USES_EXHAUSTED, TokenEntry, TokenStore, random_id
from awsbroker.core.wrapping_jwt import WrappingKey, looks_like_jwt
from awsbroker.sdk.clock import Clock, rfc3339
from awsbroker.sdk.envelope import envelope
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.logical import (
    Auth,
    JSONObject,
    RawBody,
    Request,
    Response,
    WrapInfo,
)

RESPONSE_WRAPPING_POLICY = "response-wrapping"
INVALID = "wrapping token is not valid or does not exist"
REWRAP_PATH = "sys/wrapping/rewrap"
# Paths whose wrapping token (in the body, or as the request's token) is checked before the
# ACL: an invalid one is a 400 whatever the caller may do.
VALIDATED_PATHS = frozenset({"sys/wrapping/lookup", "sys/wrapping/unwrap", REWRAP_PATH})
# A stored response that was not JSON (a raw body) is kept as Vault keeps it.
RAW_BODY, STATUS, CONTENT_TYPE = "http_raw_body", "http_status_code", "http_content_type"


def is_wrapping_token(entry: TokenEntry) -> bool:
    return entry.policies == [RESPONSE_WRAPPING_POLICY]


class Wrapping:
    def __init__(
        self,
        tokens: TokenStore,
        cubbyhole: CubbyholeBackend,
        clock: Clock,
        key: WrappingKey,
        api_addr: str = "",
    ) -> None:
        self.tokens = tokens
        self.cubbyhole = cubbyhole
        self.clock = clock
        self.key = key  # signs wrapping tokens asked for as JWTs
        self.api_addr = api_addr

    # ---- wrapping a response ---------------------------------------------------------------

    @staticmethod
    def ttl(request: Request, response: Response) -> int:
        """The wrap TTL: the lesser of the request's and the handler's, either if only one."""
        asked = response.wrap_info.ttl if response.wrap_info is not None else 0
        if request.wrap_ttl and (not asked or request.wrap_ttl < asked):
            return request.wrap_ttl
        return asked

    def wrap(self, request: Request, response: Response, ttl: int, display_name: str) -> None:
        """Store `response` in a new wrapping token's cubbyhole and make it the wrapped one
        (its `wrap_info` set; the envelope then shows only that)."""
        now = self.clock.now()
        rewrap = request.path == REWRAP_PATH and response.wrap_info is not None
        if rewrap:
            assert response.wrap_info is not None
            assert response.data is not None
            creation_path = response.wrap_info.creation_path
            stored = response.data["response"]
        else:
            creation_path = request.path
            stored = json.dumps(_stored_envelope(request, response), separators=(",", ":"))
        token = self.tokens.new_token()
        entry = TokenEntry(
            hash=self.tokens.hash(token),
            accessor=random_id(24),
            policies=[RESPONSE_WRAPPING_POLICY],
            path=request.path,
            display_name=display_name,
            creation_time=now,
            ttl=ttl,
            creation_ttl=ttl,
            explicit_max_ttl=ttl,
            renewable=False,
            num_uses=1,
            expire_time=now + ttl,
        )
        created = rfc3339(now)
        # The cubbyhole first: a token that exists always has its response.
        self.cubbyhole.put(entry.hash, RESPONSE_PATH, {"response": stored})
        info: JSONObject = {
            "creation_ttl": ttl,
            "creation_time": created,
            "creation_path": creation_path,
        }
        self.cubbyhole.put(entry.hash, WRAPINFO_PATH, info)
        try:
            self.tokens.create(entry)
        except Exception:
            self.cubbyhole.destroy(entry)
            raise
        if request.wrap_format == "jwt":
            inner = response.auth.accessor if response.auth is not None else ""
            token = self.key.sign(token, now, ttl, inner, self.api_addr)
        response.wrap_info = WrapInfo(
            token=token,
            accessor=entry.accessor,
            ttl=ttl,
            creation_time=created,
            creation_path=creation_path,
            wrapped_accessor=_wrapped_accessor(request, response),
        )

    # ---- wrapping tokens presented -----------------------------------------------------------

    def validate(self, request: Request) -> TokenEntry:
        """The wrapping token a `sys/wrapping/*` request names: `token` in its data, else the
        request's token; a JWT this server signed stands for the token inside, which replaces it
        in the request. Vault's answers: 403 when none is given (or a JWT does not verify), 400
        when it is not a live wrapping token with its use unspent."""
        raw = request.data.get("token")
        if raw is not None:
            if not isinstance(raw, str):
                raise PermissionDenied(
                    "error validating wrapping token: could not decode token in request body"
                )
            if not raw:
                raise PermissionDenied(
                    "error validating wrapping token: empty token in request body"
                )
            if looks_like_jwt(raw):
                request.data["token"] = raw = self.key.token_of(raw)  # as Vault: the token inside
            token = raw
        else:
            if looks_like_jwt(request.client_token):
                request.client_token = self.key.token_of(request.client_token)
            token = request.client_token
        if not token:
            raise PermissionDenied("error validating wrapping token: token is empty")
        entry = self.tokens.lookup(token)
        if entry is None or not is_wrapping_token(entry) or entry.num_uses == USES_EXHAUSTED:
            raise InvalidRequest(INVALID)
        return entry

    def spend(self, token: str) -> TokenEntry:
        """Spend the one use of a wrapping token named in a request's body (a third party
        unwrapping or rewrapping): of racing callers, on any nodes, one gets it."""
        entry = self.tokens.lookup(token)
        if entry is None or not is_wrapping_token(entry):
            raise InvalidRequest(INVALID)
        try:
            self.tokens.use(entry)
        except PermissionDenied:
            raise InvalidRequest(INVALID) from None
        return entry

    def read(self, token_hash: str, path: str) -> JSONObject:
        value = self.cubbyhole.get(token_hash, path)
        if value is None:
            raise InvalidRequest(INVALID)
        return value


def _stored_envelope(request: Request, response: Response) -> JSONObject:
    """The envelope as it would have been sent. A raw body is kept as Vault keeps it: its
    bytes in base64, with its status and content type."""
    if response.body is None and response.raw is None:
        return envelope(request, response)
    if response.body is not None:
        content, content_type = response.body.content, response.body.content_type
    else:
        content, content_type = json.dumps(response.raw).encode(), "application/json"
    raw = Response(
        data={
            STATUS: response.status or 200,
            RAW_BODY: base64.b64encode(content).decode(),
            CONTENT_TYPE: content_type,
        }
    )
    return envelope(request, raw)


def _wrapped_accessor(request: Request, response: Response) -> str:
    """The accessor of what is inside: a token's, or an AppRole secret ID's (as Vault)."""
    if response.auth is not None:
        return response.auth.accessor
    accessor = (response.data or {}).get("secret_id_accessor")
    if request.mount_type == "approle" and isinstance(accessor, str):
        return accessor
    return ""


def unwrapped(stored: str) -> Response:
    """The answer of an unwrap: the stored envelope's bytes as they are (the original
    request's ID in them), or the raw body it kept. `data`, `auth` and `lease_id` are the
    stored response's, for the audit entry, as Vault audits what is unwrapped."""
    try:
        body: JSONObject = json.loads(stored)
    except ValueError:
        raise InvalidRequest("the wrapped response could not be decoded") from None
    data = body.get("data")
    data = data if isinstance(data, dict) else None
    if data is not None and isinstance(data.get(RAW_BODY), str):
        content = base64.b64decode(str(data[RAW_BODY]))
        status = data.get(STATUS)
        return Response(
            body=RawBody(content, str(data.get(CONTENT_TYPE) or "application/json")),
            status=status if isinstance(status, int) else 200,
        )
    response = Response(
        data=data,
        body=RawBody(stored.encode(), "application/json"),
        lease_id=str(body.get("lease_id") or ""),
        status=200,
    )
    auth = body.get("auth")
    if isinstance(auth, dict):
        response.auth = _audited_auth(auth)
    return response


def _audited_auth(auth: JSONObject) -> Auth:
    policies = auth.get("policies")
    token_policies = auth.get("token_policies")
    metadata = auth.get("metadata")
    return Auth(
        client_token=str(auth.get("client_token") or ""),
        accessor=str(auth.get("accessor") or ""),
        policies=[str(p) for p in policies] if isinstance(policies, list) else [],
        token_policies=[str(p) for p in token_policies] if isinstance(token_policies, list) else [],
        metadata={str(k): str(v) for k, v in metadata.items()}
        if isinstance(metadata, dict)
        else None,
        lease_duration=int(str(auth.get("lease_duration") or 0)),
        orphan=bool(auth.get("orphan")),
        num_uses=int(str(auth.get("num_uses") or 0)),
    )
