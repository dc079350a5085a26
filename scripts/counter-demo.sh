#!/usr/bin/env bash
# The counter demo: an active card of the demo city (`cardledger demo-card`)
# in a virtual PC/SC reader, read by cardbridge and checked against the
# running server, one JSON line per event. Run it beside `make run` (same
# settings: CARDLEDGER_POSTGRES_URL etc. and CARDLEDGER_SERVER_URL, default
# http://127.0.0.1:8080); Ctrl-C stops cardbridge and the virtual card.
#   COUNTER_DEMO_SECONDS=N  stop by itself after N seconds
#   STATE_DIR, VPCD_PORT, MODE, NO_INSTALL  passed to scripts/pcsc/start-virtual-card.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x bin/cardledger && -x bin/cardbridge ]] || make build >&2
server="${CARDLEDGER_SERVER_URL:-http://127.0.0.1:8080}"
card_args="$(bin/cardledger demo-card)"
echo "[counter-demo] the virtual card: $card_args" >&2
key="$(bin/cardledger clients add --name "counter-demo-$(date +%s)" --role counter | tail -1)"
eval "$(CARD_ARGS="$card_args" scripts/pcsc/start-virtual-card.sh --env)"
trap 'scripts/pcsc/stop-virtual-card.sh' EXIT
run=(bin/cardbridge)
if [[ -n "${COUNTER_DEMO_SECONDS:-}" ]]; then
  run=(timeout -s INT --preserve-status "$COUNTER_DEMO_SECONDS" bin/cardbridge)
fi
CARDBRIDGE_SERVER="$server" CARDBRIDGE_KEY="$key" CARDBRIDGE_READER="$SSCARD_READER" CARDBRIDGE_LISTEN=off "${run[@]}" || true
