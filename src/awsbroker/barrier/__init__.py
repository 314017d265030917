"""Encryption at rest: the AES-GCM barrier, its keyring, Shamir shares and the Shamir seal.

Modelled on Vault's `vault/barrier_aes_gcm.go`, `vault/keyring.go` and `shamir/shamir.go`.
"""
