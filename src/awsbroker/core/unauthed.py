"""Vault's token-less `sys/rekey/*` and `sys/generate-root/*`, switched by the listener's
`disable_unauthed_rekey_endpoints` and `disable_unauthed_generate_root_endpoints` (OpenBao 2.5+;
both true unless the configuration says false).

Switched off, a path is gone as in OpenBao: every method answers 405 `unsupported operation`,
with a token or without, before the token, the ACL or the audit devices look at the request
(so nobody can start or cancel an attempt there); only a sealed server answers first, 503, as
OpenBao's. The token paths that do the same work, `sys/rotate/root/*` and
`sys/generate-root-token/*`, stay, checked by the ACL as any other path; `sys/decode-token`
stays too (OpenBao keeps it: it only XORs two values given).
"""

from __future__ import annotations

from dataclasses import dataclass

from awsbroker.sdk.errors import UnsupportedOperation

REKEY_PATHS = frozenset({"sys/rekey/init", "sys/rekey/update", "sys/rekey/verify"})
GENERATE_ROOT_PATHS = frozenset({"sys/generate-root/attempt", "sys/generate-root/update"})


@dataclass(frozen=True)
class Unauthed:
    """Which of the token-less families this listener serves (True: served)."""

    rekey: bool = False
    generate_root: bool = False

    def check(self, path: str) -> None:
        """Refuse `path` (the request's, from the mount table's root) when it is switched off."""
        if (not self.rekey and path in REKEY_PATHS) or (
            not self.generate_root and path in GENERATE_ROOT_PATHS
        ):
            raise UnsupportedOperation()
