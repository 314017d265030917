"""AppRole (`auth/approle`): machines log in with a role ID and a secret ID, as in Vault."""
