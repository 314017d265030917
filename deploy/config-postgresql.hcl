# /etc/awsbroker/awsbroker.hcl: an awsbroker node on PostgreSQL (docs/production.md).
# Every node of one server gets this file; only api_addr differs. The suite starts a
# server from this very file, with the connection_url of a fresh database and its paths
# and names moved into a temporary directory (tests/cli/test_production_guide.py).

storage "postgresql" {
  # No password here: libpq reads it from the file PGPASSFILE names (the systemd unit
  # sets it), mode 0600, owned by the server's user.
  connection_url = "postgresql://awsbroker@db.example.com:5432/awsbroker?sslmode=verify-full"
  table          = "awsbroker_kv"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/awsbroker/tls/tls.crt"
  tls_key_file  = "/etc/awsbroker/tls/tls.key"
  allowed_hosts = ["broker.example.com", "broker-1.example.com"]
}

# This node's own URL (broker-2 on the second node, ...).
api_addr = "https://broker-1.example.com:8200"

default_lease_ttl = "1h"
max_lease_ttl     = "24h"

log_level  = "info"
log_format = "json"
