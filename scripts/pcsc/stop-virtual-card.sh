#!/usr/bin/env bash
# Stop what start-virtual-card.sh started, by PID (never by name):
# the card emulator first, then pcscd.  STATE_DIR must match the start call.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${STATE_DIR:-${TMPDIR:-/tmp}/cardledger-pcsc}"
PIDS="$STATE_DIR/pids"
[[ -f "$PIDS" ]] || { echo "[stop-virtual-card] nothing to stop ($PIDS missing)" >&2; exit 0; }
PCSCD_PID=""; CARD_PID=""; MODE=""
while IFS='=' read -r k v; do
  case "$k" in
    PCSCD_PID|CARD_PID) [[ "$v" =~ ^[0-9]+$ ]] && printf -v "$k" '%s' "$v" ;;
    MODE) MODE="$v" ;;
  esac
done < "$PIDS"

# running = exists and is not a zombie (our children are reparented to PID 1;
# a slow-reaping init leaves them as zombies for a while, kill -0 still works)
running() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1; [[ -n "$s" && "$s" != Z ]]; }

stop_pid() {  # name pid
  local name=$1 pid=${2:-}
  [[ -n "$pid" ]] || return 0
  running "$pid" || { echo "$name ($pid) already gone"; return 0; }
  kill -TERM "$pid"
  for _ in $(seq 1 250); do running "$pid" || { echo "stopped $name ($pid)"; return 0; }; sleep 0.02; done
  kill -KILL "$pid" 2>/dev/null && echo "killed $name ($pid) with SIGKILL"
}
stop_pid card  "$CARD_PID"
stop_pid pcscd "$PCSCD_PID"
rm -f "$PIDS"
[[ "$MODE" == private || "$MODE" == sockact ]] && rm -f "$STATE_DIR/run/pcscd.comm" "$STATE_DIR/run/pcscd.pid"
exit 0
