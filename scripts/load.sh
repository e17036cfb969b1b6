#!/usr/bin/env bash
# Load comparison on 127.0.0.1: a bare hyper handler vs the same server with pull_endpoint.
#
#   scripts/load.sh           valid tokens, two variants, bare and pull in alternating order:
#                             "repeat": every request carries the same token (a burst of
#                             pulls; after the first, each hits the per-thread token memory);
#                             "first-sight": wrk cycles through FIRST_SIGHT_TOKENS distinct
#                             tokens (default 64, 8x the 8 tokens each thread remembers), so
#                             nearly every request is a full validation. Prints both ratios.
#   scripts/load.sh repeat | first-sight    one variant only
#   scripts/load.sh reject    invalid tokens through pull_endpoint (the 403 path) vs valid
#   scripts/load.sh soak      pull_endpoint under load for SOAK seconds (default 30) in
#                             three equal parts, valid and forged tokens mixed; prints the
#                             server's RSS before, and after each part
#
# Every run reports req/s, the server's CPU time per request (user + system, from
# /proc/PID/stat over the measured run) and wrk's: if req/s drops while the server's CPU per
# request does not, the bottleneck is wrk or the machine, not the server. Any non-2xx answer in a run of valid
# tokens fails the script (a refusal is faster than an acceptance and would flatter the
# ratio); in the reject run every answer must be a refusal.
#
# Environment: DURATION (seconds per run, default 10), ROUNDS (pairs per variant, default 7;
# a ratio is the median of the pairs' ratios, as single runs on a shared VM vary by ±15%;
# odd rounds run bare first, even rounds pull first), CONNECTIONS (default 64), THREADS (wrk
# threads, default 1), PORT (default 3100), FIRST_SIGHT_TOKENS (default 64), LOAD_WORKERS
# (the server's tokio worker threads, default: one per core), PIN (1 pins the server to CPU
# 0 and wrk to CPU 1), LOAD_FEATURES (crate features to build the server with, e.g. `metrics`),
# SOURCE (`memory`, the default: both handlers answer from a map;
# `sqlite`: both read the profile from the server example's SQLite `users` table with the
# same query, a file in the scratch directory; the gate's cost then shows beside a real
# lookup's).
# Installs wrk from Debian if missing. Refuses to start if anything listens on PORT; the
# server is started, checked to be the process listening, and stopped by PID (also on
# Ctrl-C or error); only loopback is ever targeted; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-accept}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-7}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
PORT="${PORT:-3100}"
FIRST_SIGHT_TOKENS="${FIRST_SIGHT_TOKENS:-64}"
SOURCE="${SOURCE:-memory}"
case "$SOURCE" in
  memory | sqlite) ;;
  *) echo "error: SOURCE must be memory or sqlite (got $SOURCE)" >&2; exit 2;;
esac
export LOAD_SOURCE="$SOURCE"
ADDR="127.0.0.1:${PORT}"
PULL_PATH="/livefyre/pull?id=ann.lee&lftoken="
export LIVEFYRE_NETWORK="load.fyre.co"
export LIVEFYRE_NETWORK_KEY="load-test-network-key"

case "$MODE" in
  accept | repeat | first-sight | reject | soak) ;;
  *) echo "usage: $0 [accept|repeat|first-sight|reject|soak]" >&2; exit 2;;
esac

# The port as /proc/net/tcp writes it (hex, upper case), and the inode of whatever listens
# on it on 127.0.0.1 or any address (empty if nothing).
PORT_HEX="$(printf '%04X' "$PORT")"
listener_inode() {
  awk -v port="$PORT_HEX" '$4 == "0A" && ($2 == "0100007F:" port || $2 == "00000000:" port) { print $10; exit }' /proc/net/tcp
}
if [ -n "$(listener_inode)" ] || (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
  echo "error: something already listens on 127.0.0.1:${PORT} (a leftover server?); stop it or set PORT" >&2
  exit 1
fi

if ! command -v wrk >/dev/null; then
  echo "installing wrk..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq wrk >/dev/null
fi

# LOAD_FEATURES: crate features for the server, e.g. `metrics` (the metrics cost comparison).
# shellcheck disable=SC2086 # word splitting of the feature flag is intended
cargo build --quiet --release --example load_server ${LOAD_FEATURES:+--features "$LOAD_FEATURES"}
SERVER=target/release/examples/load_server

# System tokens for the load network (HS256 over the raw key bytes), one per line: $2 of
# them, each with its own `expires` second, so all are distinct and all are valid.
tokens() {
  python3 - "$1" "$2" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(b'{"alg":"HS256","typ":"JWT"}')
key = sys.argv[1].encode()
now = int(time.time())
for n in range(int(sys.argv[2])):
    claims = {"domain": "load.fyre.co", "user_id": "system", "display_name": "system",
              "expires": now + 86400 + n}
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signed = f"{header}.{payload}"
    print(f"{signed}.{b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}")
PY
}
VALID="$(tokens "$LIVEFYRE_NETWORK_KEY" 1)"
FORGED="$(tokens "not-the-network-key" 1)"

SCRATCH="$(mktemp -d)"
# With SOURCE=sqlite: one database file for every run (each server start creates the table
# and seeds the demo profiles if they are not there yet).
export DATABASE_URL="sqlite://${SCRATCH}/users.db?mode=rwc"
# wrk's Lua hook for the first-sight variant: each request takes the next of the distinct
# tokens, round robin (one counter per wrk thread; with THREADS > 1 each thread starts 17
# tokens further on, so no two threads send the same token at about the same time).
{
  echo "local paths = {"
  tokens "$LIVEFYRE_NETWORK_KEY" "$FIRST_SIGHT_TOKENS" | while read -r t; do
    echo "  \"${PULL_PATH}${t}\","
  done
  echo "}"
  echo "local threads = 0"
  echo "setup = function(thread)"
  echo "  thread:set(\"start\", threads * 17)"
  echo "  threads = threads + 1"
  echo "end"
  echo "local next = 0"
  echo "init = function(args)"
  echo "  next = (start or 0) % #paths"
  echo "end"
  echo "request = function()"
  echo "  next = next % #paths + 1"
  echo "  return wrk.format(nil, paths[next])"
  echo "end"
} >"$SCRATCH/first_sight.lua"

# PIN=1: server on CPU 0, wrk on CPU 1 (with LOAD_WORKERS=1, each its own core). Off by
# default: unpinned, the server's workers use whatever core wrk leaves idle, as in production.
SERVER_CPU=()
WRK_CPU=()
if [ "${PIN:-0}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0)
  WRK_CPU=(taskset -c 1)
fi

# Set only in this shell (never in a subshell), so the EXIT trap always sees it.
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts the server and waits until the process just started is the one listening on PORT
# (its own file descriptors hold the listening socket's inode).
start_server() {
  if [ -n "$(listener_inode)" ]; then
    echo "error: 127.0.0.1:${PORT} was taken by another process between runs" >&2
    exit 1
  fi
  LISTEN_ADDR="$ADDR" "${SERVER_CPU[@]}" "$SERVER" "$1" >/dev/null &
  SERVER_PID=$!
  local inode
  for _ in $(seq 1 200); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "error: server $1 exited at start" >&2
      exit 1
    fi
    inode="$(listener_inode)"
    if [ -n "$inode" ]; then
      if find "/proc/$SERVER_PID/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q .; then
        return 0
      fi
      echo "error: 127.0.0.1:${PORT} is answered by another process than server $1 (pid $SERVER_PID)" >&2
      exit 1
    fi
    sleep 0.05
  done
  echo "error: server $1 did not start listening on 127.0.0.1:${PORT}" >&2
  exit 1
}

# The server's user + system CPU time so far, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the `(comm)` field, which may contain spaces).
cpu_ticks() {
  local stat
  stat="$(<"/proc/$1/stat")"
  stat="${stat##*) }"
  awk '{ print $12 + $13 }' <<<"$stat"
}
# The CPU time of this shell's finished children so far (cutime + cstime, fields 16 and 17):
# around a wrk run, that is wrk's own CPU time (wrk is waited for by `timeout`, `timeout` by
# the command substitution's subshell, and that by this shell).
children_ticks() {
  local stat
  stat="$(<"/proc/$$/stat")"
  stat="${stat##*) }"
  awk '{ print $14 + $15 }' <<<"$stat"
}
TICKS_PER_S="$(getconf CLK_TCK)"

# One wrk run of `handler` with `target` (a token, or "first-sight" for the Lua script).
# Sets RUN_RPS, RUN_CPU_US (server CPU µs per request), RUN_WRK_US (wrk's), RUN_P50, RUN_P99
# (ms), RUN_REQUESTS and RUN_NON2XX. Runs in this shell: SERVER_PID must stay visible to the EXIT trap.
run() {
  local handler="$1" target="$2" out ticks_before ticks_after wrk_before wrk_after
  local url="http://${ADDR}${PULL_PATH}${target}"
  local script=()
  if [ "$target" = first-sight ]; then
    url="http://${ADDR}/"
    script=(-s "$SCRATCH/first_sight.lua")
  fi
  start_server "$handler"
  # Warm up briefly so that connections and caches are in place.
  "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "${script[@]}" "$url" >/dev/null
  wrk_before="$(children_ticks)"
  ticks_before="$(cpu_ticks "$SERVER_PID")"
  out="$(timeout $((DURATION + 30)) "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "$url")"
  ticks_after="$(cpu_ticks "$SERVER_PID")"
  wrk_after="$(children_ticks)"
  stop_server
  RUN_RPS="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  RUN_P50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  RUN_P99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  RUN_REQUESTS="$(awk '/ requests in / {print $1}' <<<"$out")"
  RUN_NON2XX="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  RUN_NON2XX="${RUN_NON2XX:-0}"
  if [ -z "$RUN_RPS" ] || [ -z "$RUN_REQUESTS" ] || [ "$RUN_REQUESTS" = 0 ]; then
    echo "error: no requests completed in the $handler run; wrk said:" >&2
    echo "$out" >&2
    exit 1
  fi
  RUN_CPU_US="$(awk -v t=$((ticks_after - ticks_before)) -v hz="$TICKS_PER_S" -v n="$RUN_REQUESTS" \
    'BEGIN { printf "%.2f", t / hz / n * 1e6 }')"
  RUN_WRK_US="$(awk -v t=$((wrk_after - wrk_before)) -v hz="$TICKS_PER_S" -v n="$RUN_REQUESTS" \
    'BEGIN { printf "%.2f", t / hz / n * 1e6 }')"
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
  url="http://${ADDR}${PULL_PATH}"
  echo "machine: $(nproc) cores, $(uname -sr); soak ${SOAK}s; source $SOURCE; $(date -u +%FT%TZ)"
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

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Runs the named run and prints its line; `expect` is "ok" (every answer 2xx) or "refused"
# (every answer non-2xx); anything else fails the script.
measure() {
  local label="$1" handler="$2" target="$3" expect="$4"
  run "$handler" "$target"
  printf '%-18s %10s %12s %12s %10s %10s %8s\n' "$label" "$RUN_RPS" "$RUN_CPU_US" "$RUN_WRK_US" "$RUN_P50" "$RUN_P99" "$RUN_NON2XX"
  if [ "$expect" = ok ] && [ "$RUN_NON2XX" != 0 ]; then
    echo "error: $RUN_NON2XX of $RUN_REQUESTS answers in the $label run were not 2xx (every token is valid)" >&2
    exit 1
  fi
  if [ "$expect" = refused ] && [ "$RUN_NON2XX" != "$RUN_REQUESTS" ]; then
    echo "error: only $RUN_NON2XX of $RUN_REQUESTS answers in the $label run were refusals (every token is forged)" >&2
    exit 1
  fi
}

# Pairs of the variant named $1: A (the reference) and B, in alternating order. Prints the
# median of B/A for req/s and for server CPU per request.
pairs() {
  local variant="$1" a_label="$2" a_handler="$3" a_target="$4" a_expect="$5"
  local b_label="$6" b_handler="$7" b_target="$8" b_expect="$9"
  local rps_ratios=() cpu_ratios=() a_rps a_cpu
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then
      measure "$a_label" "$a_handler" "$a_target" "$a_expect"
      a_rps="$RUN_RPS" a_cpu="$RUN_CPU_US"
      measure "$b_label" "$b_handler" "$b_target" "$b_expect"
    else
      measure "$b_label" "$b_handler" "$b_target" "$b_expect"
      local b_rps="$RUN_RPS" b_cpu="$RUN_CPU_US"
      measure "$a_label" "$a_handler" "$a_target" "$a_expect"
      a_rps="$RUN_RPS" a_cpu="$RUN_CPU_US"
      RUN_RPS="$b_rps" RUN_CPU_US="$b_cpu"
    fi
    rps_ratios+=("$(awk -v a="$a_rps" -v b="$RUN_RPS" 'BEGIN { printf "%.4f", b / a }')")
    cpu_ratios+=("$(awk -v a="$a_cpu" -v b="$RUN_CPU_US" 'BEGIN { printf "%.4f", b / a }')")
  done
  RATIO_RPS["$variant"]="$(printf '%s\n' "${rps_ratios[@]}" | median)"
  RATIO_CPU["$variant"]="$(printf '%s\n' "${cpu_ratios[@]}" | median)"
  echo "  $variant: pairs' req/s ratios ${rps_ratios[*]}"
}

echo "machine: $(nproc) cores, $(uname -sr); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; $ROUNDS rounds; source $SOURCE; $(date -u +%FT%TZ)"
printf '%-18s %10s %12s %12s %10s %10s %8s\n' run req/s cpu_us/req wrk_us/req p50_ms p99_ms non2xx
declare -A RATIO_RPS RATIO_CPU
case "$MODE" in
  accept | repeat | first-sight)
    if [ "$MODE" != first-sight ]; then
      pairs repeat bare bare "$VALID" ok pull pull "$VALID" ok
    fi
    if [ "$MODE" != repeat ]; then
      pairs first-sight bare/first-sight bare first-sight ok pull/first-sight pull first-sight ok
    fi
    for variant in repeat first-sight; do
      if [ -n "${RATIO_RPS[$variant]:-}" ]; then
        printf 'ratio pull/bare, %-11s = %.2f req/s (median of %s pairs); server CPU per request pull/bare = %.2f\n' \
          "$variant" "${RATIO_RPS[$variant]}" "$ROUNDS" "${RATIO_CPU[$variant]}"
      fi
    done
    ;;
  reject)
    pairs reject pull/accept pull "$VALID" ok pull/reject pull "$FORGED" refused
    printf 'ratio reject/accept = %.2f req/s (median of %s pairs); server CPU per request reject/accept = %.2f\n' \
      "${RATIO_RPS[reject]}" "$ROUNDS" "${RATIO_CPU[reject]}"
    ;;
esac
