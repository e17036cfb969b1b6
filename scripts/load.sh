#!/usr/bin/env bash
# Load comparison on 127.0.0.1: a bare hyper handler vs the same server with pull_endpoint.
#
#   scripts/load.sh           valid tokens: bare, pull, bare, pull, ... then the ratio
#   scripts/load.sh reject    invalid tokens through pull_endpoint (the 403 path) vs valid
#   scripts/load.sh soak      pull_endpoint under load for SOAK seconds (default 30) in
#                             three equal parts, valid and forged tokens mixed; prints the
#                             server's RSS before, and after each part
#
# Environment: DURATION (seconds per run, default 10), ROUNDS (pairs, default 7; the ratio
# is the median of the pairs' ratios, as single runs on a shared VM vary by ±15%),
# CONNECTIONS (default 64), THREADS (wrk threads, default 1), PORT (default 3100),
# LOAD_WORKERS (the server's tokio worker threads, default: one per core), PIN (1 pins the
# server to CPU 0 and wrk to CPU 1).
# Installs wrk from Debian if missing. Servers are started and stopped by PID; only
# loopback is ever targeted; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-accept}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-7}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
PORT="${PORT:-3100}"
ADDR="127.0.0.1:${PORT}"
export LIVEFYRE_NETWORK="load.fyre.co"
export LIVEFYRE_NETWORK_KEY="load-test-network-key"

if ! command -v wrk >/dev/null; then
  echo "installing wrk..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq wrk >/dev/null
fi

cargo build --quiet --release --example load_server
SERVER=target/release/examples/load_server

# A system token for the load network (HS256 over the raw key bytes), and a forged one.
token() {
  python3 - "$1" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(b'{"alg":"HS256","typ":"JWT"}')
claims = {"domain": "load.fyre.co", "user_id": "system", "display_name": "system",
          "expires": int(time.time()) + 86400}
payload = b64(json.dumps(claims, separators=(",", ":")).encode())
signed = f"{header}.{payload}"
key = sys.argv[1].encode()
print(f"{signed}.{b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}")
PY
}
VALID="$(token "$LIVEFYRE_NETWORK_KEY")"
FORGED="$(token "not-the-network-key")"

# PIN=1: server on CPU 0, wrk on CPU 1 (with LOAD_WORKERS=1, each its own core). Off by
# default: unpinned, the server's workers use whatever core wrk leaves idle, as in production.
SERVER_CPU=()
WRK_CPU=()
if [ "${PIN:-0}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0)
  WRK_CPU=(taskset -c 1)
fi

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

start_server() {
  LISTEN_ADDR="$ADDR" "${SERVER_CPU[@]}" "$SERVER" "$1" >/dev/null &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "server $1 did not start" >&2
  exit 1
}

# One wrk run; prints "req/s p50_ms p99_ms non2xx".
run() {
  local handler="$1" token="$2" out
  start_server "$handler"
  local url="http://${ADDR}/livefyre/pull?id=ann.lee&lftoken=${token}"
  # Warm up briefly so that connections and caches are in place.
  "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "$url" >/dev/null
  out="$(timeout $((DURATION + 30)) "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")"
  stop_server
  local rps p50 p99 non2xx
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${non2xx:-0}"
}

to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { print v } }'
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

if [ "$MODE" = soak ]; then
  SOAK="${SOAK:-30}"
  part=$(( (SOAK + 2) / 3 ))
  start_server pull
  url="http://${ADDR}/livefyre/pull?id=ann.lee&lftoken="
  echo "machine: $(nproc) cores, $(uname -sr); soak ${SOAK}s; $(date -u +%FT%TZ)"
  echo "rss_kib start $(rss_kib "$SERVER_PID")"
  for i in 1 2 3; do
    # Half the connections with a valid token, half with a forged one, at the same time.
    timeout $((part + 30)) "${WRK_CPU[@]}" wrk -t1 -c32 -d"${part}s" "${url}${VALID}" >/dev/null &
    valid_pid=$!
    timeout $((part + 30)) "${WRK_CPU[@]}" wrk -t1 -c32 -d"${part}s" "${url}${FORGED}" >/dev/null
    wait "$valid_pid"
    echo "rss_kib after $((i * part))s $(rss_kib "$SERVER_PID")"
  done
  stop_server
  exit 0
fi

case "$MODE" in
  accept) A=(bare "$VALID" "bare"); B=(pull "$VALID" "pull");;
  reject) A=(pull "$VALID" "pull/accept"); B=(pull "$FORGED" "pull/reject");;
  *) echo "usage: $0 [accept|reject|soak]" >&2; exit 2;;
esac

echo "machine: $(nproc) cores, $(uname -sr); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; $(date -u +%FT%TZ)"
printf '%-12s %12s %10s %10s %8s\n' run req/s p50_ms p99_ms non2xx
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  read -r a_rps a_p50 a_p99 a_bad < <(run "${A[0]}" "${A[1]}")
  printf '%-12s %12s %10s %10s %8s\n' "${A[2]}" "$a_rps" "$a_p50" "$a_p99" "$a_bad"
  read -r b_rps b_p50 b_p99 b_bad < <(run "${B[0]}" "${B[1]}")
  printf '%-12s %12s %10s %10s %8s\n' "${B[2]}" "$b_rps" "$b_p50" "$b_p99" "$b_bad"
  ratios+=("$(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN { printf "%.4f", b / a }')")
done
median="$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
if [ "$MODE" = accept ]; then
  printf 'ratio pull/bare = %.2f\n' "$median"
else
  printf 'ratio reject/accept = %.2f\n' "$median"
fi
