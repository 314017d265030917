# /etc/awsbroker/awsbroker.hcl: one awsbroker node on a SQLite file (docs/production.md).
# The suite starts a server from this very file, with its paths and names moved into a
# temporary directory (tests/cli/test_production_guide.py).

storage "sqlite" {
  # The directory must exist and belong to the server's user (systemd's StateDirectory=
  # makes it, mode 0700). The server creates the database file 0600.
  path = "/var/lib/awsbroker/awsbroker.db"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/awsbroker/tls/tls.crt" # the certificate, then its chain
  tls_key_file  = "/etc/awsbroker/tls/tls.key" # readable by the server's user only
  # The names clients use: a request for any other Host is refused (421).
  allowed_hosts = ["broker.example.com"]
}

# This node's URL, as clients reach it (shown in sys/ha-status and sys/leader).
api_addr = "https://broker.example.com:8200"

# Leases: 1 hour unless a role or a request says otherwise, never more than a day.
default_lease_ttl = "1h"
max_lease_ttl     = "24h"

log_level  = "info"
log_format = "json"
