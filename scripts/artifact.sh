#!/usr/bin/env bash
# `npm run artifact`: builds dist/ and packs what a production install needs into one file,
# gpu-voucher-market-<version>.tgz (no sources, no dev dependencies). On the target:
#   mkdir app && tar -xzf gpu-voucher-market-*.tgz -C app && cd app
#   npm ci --omit=dev && npm run db:migrate && npm start
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
version="$(node -p 'require("./package.json").version')"
out="${1:-gpu-voucher-market-${version}.tgz}"
tar -czf "${out}" package.json package-lock.json dist drizzle schema docs README.md CHANGELOG.md \
  scripts/start.mjs scripts/migrate.mjs scripts/dist.mjs
echo "${out}"
