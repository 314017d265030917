"""Where `operator generate-root` and `operator rekey` send their requests.

With a token (AWSBROKER_TOKEN, VAULT_TOKEN or the token file), OpenBao's token paths,
`sys/generate-root-token/*` and `sys/rotate/root/*` (their answers in the `data` envelope), as
`bao operator generate-root` and `bao operator rotate-keys` call them. With no token, or with
`-unauthenticated`, Vault's token-less `sys/generate-root/*` and `sys/rekey/*` (raw answers), as
the vault CLI calls them: the server serves those only while its listener says
`disable_unauthed_generate_root_endpoints = false` (`disable_unauthed_rekey_endpoints`), and
its 405 otherwise comes with that advice.
"""

from __future__ import annotations

from dataclasses import dataclass

from awsbroker.cli.client import JSON, Client
from awsbroker.cli.command import Context
from awsbroker.cli.errors import APIError
from awsbroker.cli.flags import Flag

FLAG = Flag(
    "unauthenticated",
    "Use Vault's token-less paths even with a token (the server's listener must serve them)",
    False,
)


@dataclass(frozen=True)
class SharePaths:
    client: Client
    prefix: str
    token_less: bool
    switch: str  # the listener setting that serves the token-less paths

    @classmethod
    def of(cls, ctx: Context, token_prefix: str, token_less_prefix: str, switch: str) -> SharePaths:
        token_less = ctx.opts.get_bool("unauthenticated") or not ctx.settings.token
        prefix = token_less_prefix if token_less else token_prefix
        return cls(ctx.client(), prefix, token_less, switch)

    def call(self, method: str, name: str, body: JSON | None = None) -> JSON:
        """`method` on `<prefix>/<name>`: the answer's body (its `data` on a token path)."""
        try:
            answer = self.client.request(method, f"{self.prefix}/{name}", body)
        except APIError as exc:
            if exc.status == 405 and self.token_less:
                exc.hint = (
                    f"The server does not serve the token-less {self.prefix}/* (it does only "
                    f"while its listener block sets {self.switch} = false). Run this with a "
                    'token instead, or see docs/production.md, "A new root token".'
                )
            raise
        if answer is None:
            return {}
        if self.token_less:
            return answer
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def get(self, name: str) -> JSON:
        return self.call("GET", name)

    def put(self, name: str, body: JSON) -> JSON:
        return self.call("PUT", name, body)

    def delete(self, name: str) -> JSON:
        return self.call("DELETE", name)
