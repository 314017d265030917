"""Differences kept on purpose wherever they show, each with its reason and a case that shows
it (test_everywhere.py fails when it no longer does). The area files pass `EVERYWHERE` to
`check`; their own tables list the rest, case by case."""

from __future__ import annotations

from tests.differential.harness import GET, POST, PUT, Case, Everywhere

_LIMITED = (
    PUT("sys/policy/diff-ev", {"policy": 'path "sys/policy/*" { capabilities = ["read"] }'}),
    POST(
        "auth/token/create",
        {"policies": ["diff-ev"], "no_default_policy": True},
        save={"ev": "auth.client_token"},
    ),
)

EVERYWHERE = [
    Everywhere(
        r"envelope: key 'mount_type' only in awsbroker",
        "Vault (1.10+) names the mount's type in every response's `mount_type`, and Vault's Go "
        "`api.Secret` reads it; OpenBao dropped the key. We follow Vault.",
        Case("mount_type", GET("auth/token/lookup-self")),
    ),
    Everywhere(
        r"errors: openbao \['1 error occurred:\\n\\t\* (.*)\\n\\n'\], awsbroker \['\1'\]",
        "Vault and OpenBao wrap some errors (permission denied, unsupported path) in Go's "
        "multierror text, `1 error occurred:\\n\\t* <error>\\n\\n`; we send the error alone. "
        "Same status; clients match the words (`permission denied`), which both carry.",
        Case("permission denied", GET("sys/mounts", token="$ev"), setup=_LIMITED),
    ),
    Everywhere(
        r"(envelope|data): key '(cas_required|version|modified|"
        r"allow_slashes_in_identity_templates|allow_wildcards_in_identity_templates)' "
        r"only in openbao",
        "OpenBao's own policy features (check-and-set versions, identity-template options); "
        "Vault's policy read has `name` and `rules` (and `policy`) only, as ours.",
        Case("policy read", GET("sys/policy/default")),
    ),
]
