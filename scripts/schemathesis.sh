#!/usr/bin/env bash
# Property-based tests of the reference API from its own OpenAPI document (schemathesis,
# from PyPI): every generated request must get an answer that is not a server error.
# Usage: scripts/schemathesis.sh [max examples per operation, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v schemathesis >/dev/null || pip install --quiet schemathesis
cargo build --quiet --package caresync-server
data=$(mktemp -d)
addr=127.0.0.1:18090
CARESYNC_ADDR=$addr CARESYNC_DATA=$data RUST_LOG=warn target/debug/caresync-server >/dev/null &
server=$!
trap 'kill $server; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "http://$addr/healthz" >/dev/null && break; sleep 0.2; done
token=$(curl -sf -X POST "http://$addr/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"tenantId":"north-clinic","username":"patient1","password":"demo"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
schemathesis run "http://$addr/api/openapi.json" --url "http://$addr" \
  -H "Authorization: Bearer $token" --checks not_a_server_error --max-examples "${1:-30}"
