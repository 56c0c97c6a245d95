#!/usr/bin/env bash
# Standard OAuth/JOSE clients against a real `rampart serve --dev`: requests-oauthlib,
# authlib and PyJWT's PyJWKClient must work unchanged (issue 3).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${RAMPART_PY_VENV:-/tmp/rampart-ci-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check requests requests-oauthlib authlib "pyjwt[crypto]" flask

cargo build -q -p rampart-server
work=$(mktemp -d)
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
export RAMPART_BOOTSTRAP_ADMIN_PASSWORD="interop-admin-password"
(cd "$work" && exec "$OLDPWD/target/debug/rampart" serve --dev --data-dir "$work/data" \
  --https-addr "127.0.0.1:$port" --http-addr off --metrics-addr 127.0.0.1:0 \
  --public-url "https://localhost:$port" --log-format text >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -fs --cacert "$work/data/dev-cert.pem" "https://localhost:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
REQUESTS_CA_BUNDLE="$work/data/dev-cert.pem" RAMPART_URL="https://localhost:$port" RAMPART_CA="$work/data/dev-cert.pem" \
  "$venv/bin/python" .ci/interop.py || { echo "--- server log"; tail -50 "$work/server.log"; exit 1; }
# OpenID Connect relying parties: the README's authlib + Flask app, and authlib's own ID
# token checks (.ci/oidc_rp.py).
REQUESTS_CA_BUNDLE="$work/data/dev-cert.pem" RAMPART_URL="https://localhost:$port" RAMPART_CA="$work/data/dev-cert.pem" \
  ADMIN_PASSWORD="$RAMPART_BOOTSTRAP_ADMIN_PASSWORD" \
  "$venv/bin/python" .ci/oidc_rp.py || { echo "--- server log"; tail -50 "$work/server.log"; exit 1; }
