#!/usr/bin/env bash
# Instructions per request in the load server (examples/load_server.rs), under callgrind.
#
#   scripts/callgrind-load.sh            bare, pull with one repeated token, pull first-sight
#   scripts/callgrind-load.sh MODE...    any of: bare bare-first-sight repeat first-sight
#
# For each mode the server runs under `valgrind --tool=callgrind` with one tokio worker, and a
# keep-alive client sends N1 (default 200) then, in a second run, N2 (default 1200) requests;
# (instructions of run 2 - run 1) / (N2 - N1) is the cost of one request with start-up and
# shutdown cancelled out. Instruction counts repeat to within about 0.1 % on a busy machine,
# where wall-clock numbers do not. Profiles are kept in OUT (default target/callgrind) for
# `callgrind_annotate`. Caveat: valgrind hides SHA-NI, so SHA-256 runs in software here (about
# 14,000 instructions per first-sight token, where the hardware path takes a few hundred
# cycles); compare modes with that in mind.
#
# Needs valgrind and python3; only 127.0.0.1 is used; each server is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

N1="${N1:-200}"
N2="${N2:-1200}"
OUT="${OUT:-target/callgrind}"
PORT="${PORT:-3101}"
MODES=("$@")
if [ ${#MODES[@]} = 0 ]; then MODES=(bare repeat first-sight); fi
export LIVEFYRE_NETWORK="load.fyre.co"
export LIVEFYRE_NETWORK_KEY="load-test-network-key"

command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 1; }
if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
  echo "error: something already listens on 127.0.0.1:${PORT}; stop it or set PORT" >&2
  exit 1
fi
cargo build --quiet --release --example load_server
mkdir -p "$OUT"

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# Sends $2 keep-alive GETs to the port, each with the next of $3 distinct valid tokens (1:
# the same token every time); every answer must be 200.
client() {
  python3 - "$PORT" "$1" "$2" "$LIVEFYRE_NETWORK_KEY" <<'PY'
import base64, hashlib, hmac, http.client, json, sys, time
port, n, distinct, key = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(b'{"alg":"HS256","typ":"JWT"}')
now = int(time.time())
paths = []
for i in range(distinct):
    claims = {"domain": "load.fyre.co", "user_id": "system", "display_name": "system",
              "expires": now + 86400 + i}
    signed = f"{header}.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    sig = b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())
    paths.append(f"/livefyre/pull?id=ann.lee&lftoken={signed}.{sig}")
deadline = time.monotonic() + 120
while True:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.connect()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the server did not start listening")
        time.sleep(0.1)
for i in range(n):
    connection.request("GET", paths[i % len(paths)])
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"answer {response.status} to request {i}")
PY
}

# Sets INSTRUCTIONS to those of one server run that answers $3 requests; profile in $4.
# Runs in this shell (never in a subshell), so the EXIT trap sees SERVER_PID.
instructions() {
  local handler="$1" distinct="$2" n="$3" out="$4"
  LOAD_WORKERS=1 LISTEN_ADDR="127.0.0.1:${PORT}" valgrind --tool=callgrind --callgrind-out-file="$out" \
    target/release/examples/load_server "$handler" >/dev/null 2>"$out.log" &
  SERVER_PID=$!
  client "$n" "$distinct"
  stop_server
  INSTRUCTIONS="$(awk '/^summary:/ { print $2 }' "$out")"
}

printf '%-18s %14s\n' mode instr/request
for mode in "${MODES[@]}"; do
  case "$mode" in
    bare) handler=bare distinct=1;;
    bare-first-sight) handler=bare distinct=64;;
    repeat) handler=pull distinct=1;;
    first-sight) handler=pull distinct=64;;
    *) echo "unknown mode $mode (bare bare-first-sight repeat first-sight)" >&2; exit 2;;
  esac
  instructions "$handler" "$distinct" "$N1" "$OUT/$mode.$N1.out"
  small="$INSTRUCTIONS"
  instructions "$handler" "$distinct" "$N2" "$OUT/$mode.$N2.out"
  large="$INSTRUCTIONS"
  printf '%-18s %14s\n' "$mode" "$(( (large - small) / (N2 - N1) ))"
done
echo "profiles: $OUT/<mode>.$N2.out (callgrind_annotate --inclusive=yes ...)"
