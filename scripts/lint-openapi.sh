#!/usr/bin/env bash
# Lints docs/openapi.json (the service's OpenAPI document, kept current by
# `go test ./cmd/cardledger -run TestOpenAPIDocumentOfTheService`) with
# Redocly's recommended rules. Redocly CLI is installed from npm into a
# temporary folder, never into the repository. Exit status: Redocly's
# (non-zero on any error).
set -euo pipefail
cd "$(dirname "$0")/.."
doc="$PWD/docs/openapi.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent @redocly/cli@2 >/dev/null
printf 'extends:\n  - recommended\n' > redocly.yaml
./node_modules/.bin/redocly lint "$doc" --config redocly.yaml
