#!/usr/bin/env bash
# A production install tried as an operator would, on PostgreSQL: `npm run artifact`, unpacked in
# an empty folder, `npm ci --omit=dev`, `npm run db:migrate`, then `npm start` with
# NODE_ENV=production and MIGRATE_ON_START=false; /readyz, /metrics and the README's first
# example steps (publish an offer, bid, check out) must answer. Needs PostgreSQL at
# 127.0.0.1:5432 (or PG_ADMIN_URL). Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
admin_url="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work="$(mktemp -d)"
db="smoke_$(date +%s)_$$"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
server_pid=""
# npm start runs the server as its child, in a process group of its own (setsid): stopping the group
# stops both, where a signal to npm alone left the server running after the script.
stop_server() {
  kill -- "-${server_pid}" 2>/dev/null || true
  wait "${server_pid}" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  [ -n "${server_pid}" ] && stop_server
  psql "${admin_url}" -qc "drop database if exists ${db} with (force)" >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

echo "== artifact"
bash scripts/artifact.sh "${work}/app.tgz" >/dev/null
mkdir "${work}/app" && tar -xzf "${work}/app.tgz" -C "${work}/app"
cd "${work}/app"
echo "== npm ci --omit=dev"
npm ci --omit=dev --no-audit --no-fund --prefer-offline >/dev/null
if [ -e node_modules/@swc/cli ] || [ -e node_modules/typescript ]; then
  echo "dev dependencies were installed" >&2
  exit 1
fi

psql "${admin_url}" -qc "create database ${db}"
url="$(node -e 'const u=new URL(process.argv[1]);u.pathname="/"+process.argv[2];console.log(u.toString())' "${admin_url}" "${db}")"
export DATABASE_URL="${url}" NODE_ENV=production ALLOW_SIMULATED_PAYMENTS=1 ADMIN_TOKEN="smoke-admin-$(date +%s)-token" \
  SEED=demo PORT="${port}" MIGRATE_ON_START=false LOG_FORMAT=json METRICS_TOKEN="smoke-metrics-token-0123"

echo "== npm run db:migrate"
npm run -s db:migrate

echo "== npm start"
setsid npm start >"${work}/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:${port}"
for _ in $(seq 240); do
  curl -sf "${base}/readyz" >/dev/null && break
  kill -0 "${server_pid}" 2>/dev/null || { cat "${work}/server.log"; exit 1; }
  sleep 0.5
done
curl -sf "${base}/readyz" || { cat "${work}/server.log"; exit 1; }
echo

gql() {
  curl -sf "${base}/graphql" -H 'content-type: application/json' -H "authorization: Bearer $1" -d "$2"
}
fail() { echo "smoke: $*" >&2; cat "${work}/server.log" >&2; exit 1; }

echo "== README examples"
offer="$(gql gvm_demo_operator_west '{"query":"mutation { publishOffer(input: { dataCenterId: \"dc_1\", gpuModel: \"H800\", gpuCount: 32, pricePerGpuHour: \"18.50\", availableFrom: \"2027-06-01T00:00:00Z\", availableUntil: \"2027-06-08T00:00:00Z\", minHours: 4 }) { id status } }"}')"
echo "${offer}"
grep -q '"status":"ACTIVE"' <<<"${offer}" || fail "publishOffer"
bid="$(gql gvm_demo_sme_shanghai '{"query":"mutation { placeBid(input: { gpuModel: \"H800\", gpuCount: 8, hours: 24, earliestStart: \"2027-06-01T00:00:00Z\", latestEnd: \"2027-06-08T00:00:00Z\", maxPricePerGpuHour: \"30.00\", hubs: [\"Ningxia Zhongwei\", \"Gansu Qingyang\"] }) { id status reservation { id total { amount } } } }"}')"
echo "${bid}"
reservation="$(node -e 'console.log(JSON.parse(process.argv[1]).data.placeBid.reservation.id)' "${bid}")"
order="$(gql gvm_demo_sme_shanghai "{\"query\":\"mutation { checkout(input: { reservationId: \\\"${reservation}\\\", voucherId: \\\"voucher_1\\\", idempotencyKey: \\\"smoke-1\\\" }) { id status subsidy { amount } smeShare { amount } } }\"}")"
echo "${order}"
grep -q '"status":"PAID"' <<<"${order}" || fail "checkout"

echo "== /metrics"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${base}/metrics")" = 401 ] || fail "/metrics without the token"
metrics="$(curl -sf -H 'authorization: Bearer smoke-metrics-token-0123' "${base}/metrics")"
grep -q '^gvm_checkouts_total{outcome="PAID"} 1$' <<<"${metrics}" || fail "/metrics: no PAID checkout"
grep -q '^nodejs_eventloop_lag_seconds ' <<<"${metrics}" || fail "/metrics: no event-loop lag"

stop_server
if grep -q "${ADMIN_TOKEN}" "${work}/server.log"; then fail "the admin token reached the log"; fi
echo "== production smoke passed (${root})"
