"""awsbroker: short-lived AWS credentials under leases, behind Vault's HTTP API."""

__version__ = "0.1.0"
