#!/usr/bin/env bash
# Start pcscd + vsmartcard vpcd + the emulated social-security card
# (hwbridge/testdata/sscard_vicc.py) in the background; wait until PC/SC sees the card; print PIDs.
#
#   ./start-virtual-card.sh                      # MODE=auto (see below)
#   MODE=system ./start-virtual-card.sh          # plain /run/pcscd/pcscd.comm
#   eval "$(./start-virtual-card.sh --env)"      # exports PCSCLITE_CSOCK_NAME etc.
#   ./stop-virtual-card.sh                       # stops both, by PID
#
# Env knobs:
#   MODE       auto | private | sockact | system
#              private: pcscd in its own mount namespace with $STATE_DIR/run
#                       bind-mounted over /run/pcscd (needs CAP_SYS_ADMIN)
#              sockact: pcscd gets a pre-bound $STATE_DIR/run/pcscd.comm via
#                       systemd-style socket activation (LISTEN_FDS); no
#                       namespaces, but pcscd still writes/removes
#                       /run/pcscd/pcscd.pid
#              system:  default socket /run/pcscd/pcscd.comm (fails if a
#                       pcscd already runs)
#              auto:    private if `unshare -m` works, else sockact
#   STATE_DIR  pids, logs, reader.conf.d, socket
#              (default: ${TMPDIR:-/tmp}/cardledger-pcsc; tests pass a fresh temp dir)
#   VPCD_PORT  TCP port of vpcd's first slot; it also takes VPCD_PORT+1
#              (default 35963)
#   VPCD_ENTRIES  number of vpcd reader.conf entries (default 1). Each gives
#              2 readers/slots; entry i uses ports VPCD_PORT+2i, +2i+1 and is
#              named "Virtual PCD" (i=0) or "Virtual PCD <i+1>". Entries after
#              the first get their own COPY of libifdvpcd.so, because the
#              driver keeps its connections in a global 2-slot array and
#              pcscd loads one instance per LIBPATH (same .so = aliased readers)
#   CARD_ARGS  extra args for sscard_vicc.py, e.g. "--protect-holder --pin 654321"
#   WAIT_S     seconds to wait for the card (default 10)
#   NO_INSTALL=1  never call apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE="${MODE:-auto}"
STATE_DIR="${STATE_DIR:-${TMPDIR:-/tmp}/cardledger-pcsc}"
VPCD_PORT="${VPCD_PORT:-35963}"
WAIT_S="${WAIT_S:-10}"
CARD_ARGS="${CARD_ARGS:-}"
EMU="${EMU:-$HERE/../../hwbridge/testdata/sscard_vicc.py}"  # the emulated card
PY=/usr/bin/python3      # Debian's python: python3-virtualsmartcard targets it
ENV_ONLY=0; [[ "${1:-}" == "--env" ]] && ENV_ONLY=1
log() { echo "[start-virtual-card] $*" >&2; }
ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }

# ---------------------------------------------------------------- packages --
# What the emulator and pcscd need; pcsc-tools (pcsc_scan, scriptor) is
# only installed alongside, for poking at the card by hand.
PKGS=(pcscd libpcsclite-dev vsmartcard-vpcd python3-virtualsmartcard python3-pycryptodome)
need=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  [[ "${NO_INSTALL:-0}" == 1 ]] && { log "missing packages: ${need[*]}"; exit 1; }
  need+=(pcsc-tools)
  log "installing: ${need[*]}"
  SUDO=""; [[ $EUID -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
VPCD_SO=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
[[ -e "$VPCD_SO" ]] || { log "vpcd driver not found at $VPCD_SO"; exit 1; }
"$PY" "$EMU" --help >/dev/null   # fails early if the python side is broken

# ------------------------------------------------------------------ layout --
mkdir -p "$STATE_DIR"/{conf,run,logs,drivers}
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
if [[ -f "$STATE_DIR/pids" ]]; then
  log "already started? $STATE_DIR/pids exists; run stop-virtual-card.sh first"; exit 1
fi
# vpcd: DEVICENAME /dev/null:<port> = listen on 0.0.0.0:<port> (and <port>+1)
VPCD_ENTRIES="${VPCD_ENTRIES:-1}"
rm -f "$STATE_DIR"/conf/vpcd*
PORTS=()
for ((i = 0; i < VPCD_ENTRIES; i++)); do
  port=$((VPCD_PORT + 2*i)); name="Virtual PCD"; so="$VPCD_SO"
  if ((i > 0)); then
    name="Virtual PCD $((i+1))"; so="$STATE_DIR/drivers/libifdvpcd-$i.so"   # NOT in conf/: pcscd parses every file there
    cp "$(readlink -f "$VPCD_SO")" "$so"
  fi
  printf 'FRIENDLYNAME "%s"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
    "$name" "$port" "$so" "$port" > "$STATE_DIR/conf/vpcd$i"
  PORTS+=("$port" $((port+1)))
done
for port in "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port already in use (another pcscd with vpcd?). Set VPCD_PORT."; exit 1
  fi
done

if [[ "$MODE" == auto ]]; then
  if unshare -m --propagation private true 2>/dev/null; then MODE=private; else MODE=sockact; fi
fi
T0=$(date +%s%N)
PCSCD_ARGS=(-f -i -c "$STATE_DIR/conf")   # -i: log "Card inserted into ..."
case "$MODE" in
  private)
    # pcscd 1.9.9 ignores PCSCLITE_CSOCK_NAME for its *listening* socket and
    # refuses to start if /run/pcscd/pcscd.comm exists, so give it a private
    # /run/pcscd (bind of $STATE_DIR/run) in its own mount namespace.
    mkdir -p /run/pcscd
    SOCK="$STATE_DIR/run/pcscd.comm"; rm -f "$SOCK" "$STATE_DIR/run/pcscd.pid"
    setsid unshare -m --propagation private \
      sh -c 'mount --bind "$0" /run/pcscd && shift && exec pcscd "$@"' \
      "$STATE_DIR/run" _ "${PCSCD_ARGS[@]}" </dev/null > "$STATE_DIR/logs/pcscd.log" 2>&1 &
    PCSCD_PID=$!      # setsid, unshare and sh all exec: this is pcscd's PID
    ;;
  sockact)
    SOCK="$STATE_DIR/run/pcscd.comm"
    setsid "$PY" -c '
import os, socket, sys
path = sys.argv[1]
if os.path.exists(path): os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); os.chmod(path, 0o666); s.listen(128)
if s.fileno() != 3: os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execvp("pcscd", ["pcscd"] + sys.argv[2:])' "$SOCK" "${PCSCD_ARGS[@]}" \
      </dev/null > "$STATE_DIR/logs/pcscd.log" 2>&1 &
    PCSCD_PID=$!
    ;;
  system)
    SOCK=/run/pcscd/pcscd.comm
    setsid pcscd "${PCSCD_ARGS[@]}" </dev/null > "$STATE_DIR/logs/pcscd.log" 2>&1 &
    PCSCD_PID=$!
    ;;
  *) log "MODE must be auto, private, sockact or system"; exit 1 ;;
esac
echo "PCSCD_PID=$PCSCD_PID" > "$STATE_DIR/pids"
echo "MODE=$MODE" >> "$STATE_DIR/pids"

# wait until pcscd is ready (socket for clients, vpcd port for the card)
for _ in $(seq 1 $((WAIT_S*50))); do
  grep -q "daemon ready" "$STATE_DIR/logs/pcscd.log" && [[ -S "$SOCK" ]] && break
  kill -0 "$PCSCD_PID" 2>/dev/null || { log "pcscd died:"; cat "$STATE_DIR/logs/pcscd.log" >&2; rm -f "$STATE_DIR/pids"; exit 1; }
  sleep 0.02
done
T_PCSCD=$(ms)

setsid "$PY" "$EMU" -P "$VPCD_PORT" $CARD_ARGS </dev/null > "$STATE_DIR/logs/card.log" 2>&1 &
CARD_PID=$!
{ echo "CARD_PID=$CARD_PID"; echo "VPCD_PORT=$VPCD_PORT"; echo "PCSCLITE_CSOCK_NAME=$SOCK"; } >> "$STATE_DIR/pids"

ok=0
for _ in $(seq 1 $((WAIT_S*50))); do
  if grep -q "Card inserted into" "$STATE_DIR/logs/pcscd.log"; then ok=1; break; fi
  kill -0 "$CARD_PID" 2>/dev/null || break
  sleep 0.02
done
if ((!ok)); then
  log "card did not show up within ${WAIT_S}s"; tail -5 "$STATE_DIR/logs/card.log" "$STATE_DIR/logs/pcscd.log" >&2
  exit 1
fi
T_CARD=$(ms)
READER=$(grep -o 'Card inserted into .*' "$STATE_DIR/logs/pcscd.log" | head -1 | sed 's/Card inserted into //')
echo "READER=$READER" >> "$STATE_DIR/pids"
log "mode $MODE: pcscd ready after $T_PCSCD ms, card visible after $T_CARD ms"
if ((ENV_ONLY)); then
  echo "export PCSCLITE_CSOCK_NAME='$SOCK' SSCARD_READER='$READER' PCSCD_PID=$PCSCD_PID CARD_PID=$CARD_PID"
else
  echo "PCSCD_PID=$PCSCD_PID"
  echo "CARD_PID=$CARD_PID"
  echo "READER=$READER"
  echo "export PCSCLITE_CSOCK_NAME=$SOCK"
  echo "# remove/insert the card: kill -USR1 $CARD_PID ; stop: STATE_DIR=$STATE_DIR $HERE/stop-virtual-card.sh"
fi
