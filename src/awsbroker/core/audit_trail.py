"""One request's audit trail, and the fail-closed rule as the request pipeline applies it.

`Core.handle` opens a trail for every audited request while devices are enabled:

1. a request that fails before reaching its backend (a bad token, an ACL denial) is recorded
   as one request entry carrying the error;
2. otherwise the request entry is written right before the backend runs: if no device can
   record it, the request fails with 500 and the backend never runs (nothing is issued);
3. the response entry (or the backend's error) is written after; if no device can record it,
   the request fails with 500 and whatever the response created is withdrawn: its lease is
   revoked, its token revoked, so no credential leaves unaccounted for. A `sys/seal` or
   `sys/step-down` that succeeds has no response entry (`REQUEST_ONLY`).
"""

from __future__ import annotations

import dataclasses
import logging
import re

from awsbroker.audit.broker import AuditBroker, AuditFailed
from awsbroker.audit.entry import Caller, LogInput
from awsbroker.core.expiration import ExpirationManager
from awsbroker.core.mounts import MountEntry
from awsbroker.core.tokens import TokenEntry, TokenStore
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import BrokerError, InternalError
from awsbroker.sdk.logical import Request, Response

log = logging.getLogger("awsbroker.core.audit")
# Never audited (Vault's list); `sys/metrics` too when it is served unauthenticated.
UNAUDITED = frozenset({"sys/init", "sys/seal-status", "sys/unseal", "sys/leader", "sys/health"})
# Recorded by their request entry alone, as Vault records them: sealing closes the audit
# devices, so the request entry is written before the seal (and if no device can write it, the
# server is not sealed), and there is no device left for a response entry. Vault's
# `sys/step-down` is recorded the same way.
REQUEST_ONLY = frozenset({"sys/seal", "sys/step-down"})
# Legacy paths that carry a token in the URL: the token part is hashed in the audit log.
_TOKEN_IN_PATH = re.compile(r"auth/token/(?:lookup|renew)/")


class AuditTrail:
    def __init__(self, broker: AuditBroker, clock: Clock, request: Request) -> None:
        self._broker = broker
        self._clock = clock
        self._outer = request
        self.token = request.client_token
        self.started = clock.now()
        secret_in_path = _TOKEN_IN_PATH.match(request.path)
        self.input = LogInput(
            request=dataclasses.replace(request),
            time=self.started,
            path_secret_at=secret_in_path.end() if secret_in_path else 0,
        )
        self.request_logged = False
        self._failed = False

    def authenticated(self, token: TokenEntry) -> None:
        """The request's token was found: its description goes into every entry."""
        self.input.caller = Caller(
            client_token=self._outer.client_token,
            accessor=token.accessor,
            display_name=token.display_name,
            policies=tuple(token.policies),
            token_policies=tuple(token.policies),
            metadata=token.meta,
            token_type=token.type,
            token_ttl=token.ttl,
            token_issue_time=token.creation_time,
        )

    def log_request(
        self, inner: Request, mount: MountEntry, clear_keys: tuple[str, ...] = ()
    ) -> None:
        """Record the request as the backend will see it; raise InternalError if nothing can.
        `clear_keys`: request data keys the path itself keeps in clear (`Path.audit_clear`),
        on top of the mount's non-HMAC keys."""
        self.input.request = dataclasses.replace(
            inner, path=self._outer.path, client_token=self._outer.client_token
        )
        self.input.allowed = True if self.input.caller is not None else None
        self.input.non_hmac_request_keys = (
            *mount.config.audit_non_hmac_request_keys,
            *clear_keys,
        )
        self.input.non_hmac_response_keys = tuple(mount.config.audit_non_hmac_response_keys)
        try:
            self._broker.log_request(self.input)
        except AuditFailed:
            self._failed = True
            raise InternalError("internal error") from None
        self.request_logged = True

    def log_response(self, response: Response | None) -> None:
        """Record the response; raise AuditFailed if nothing can (the caller withdraws it)."""
        if self._outer.path in REQUEST_ONLY:
            return
        self.input.response = response
        self.input.time = self._clock.now()
        self._broker.log_response(self.input)

    def log_error(self, error: BaseException) -> None:
        """Record a failure: as a request entry if the request was not recorded yet, else as
        the response entry. Raise InternalError if nothing can record it."""
        if self._failed:
            return  # the request entry itself failed: that is the error being reported
        self.input.error = (
            "; ".join(error.messages) if isinstance(error, BrokerError) else "internal error"
        )
        self.input.time = self._clock.now()
        try:
            if self.request_logged:
                self._broker.log_response(self.input)
            else:
                self._broker.log_request(self.input)
        except AuditFailed:
            raise InternalError("internal error") from None


def withdraw(
    trail: AuditTrail,
    response: Response | None,
    expiration: ExpirationManager,
    tokens: TokenStore,
) -> None:
    """Undo what an unrecorded response created: revoke its lease (queued for the worker if
    the backend cannot revoke now) and the token it made (not a lease or token it renewed)."""
    if response is None:
        return
    if response.lease_id and response.secret is not None:  # a renewal carries no secret
        try:
            expiration.revoke(response.lease_id)
        except Exception:
            log.exception("revoking an unaudited lease failed; queued for the expiry worker")
            expiration.expire_now(response.lease_id)
    if response.wrap_info is not None and response.wrap_info.token:
        wrapping = tokens.lookup(response.wrap_info.token)
        if wrapping is not None:
            tokens.revoke_tree(wrapping)  # its cubbyhole, the wrapped response, goes with it
    if response.auth is not None and response.auth.client_token:
        token = tokens.lookup(response.auth.client_token)
        created_here = token is not None and token.creation_time >= trail.started
        if token is not None and created_here and response.auth.client_token != trail.token:
            tokens.revoke_tree(token)
