#!/usr/bin/env bash
# Before/after on one machine state: the criterion benches of OLD_REV and of this checkout,
# run id by id, interleaved, then a ratio table.
#
#   scripts/bench-compare.sh OLD_REV [BENCH...]     (default benches: lftoken pull)
#
# OLD_REV is checked out into a temporary git worktree (removed at exit) and built into this
# checkout's target directory, so the dependencies are compiled once for both. Every bench id
# that both sides have is run ROUNDS times (default 2) per side, alternating which side goes
# first; a side's time is criterion's central estimate, and the table shows each side's
# median and new/old (below 1: the new code is faster). Ids only one side has are listed
# with that side's time. BENCH_ARGS is passed to each criterion run (for example
# "--warm-up-time 1 --measurement-time 3"). Wall-clock on a shared VM: read ratios within
# about ±10 % as unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  echo "usage: $0 OLD_REV [BENCH...]" >&2
  exit 2
fi
OLD_REV="$(git rev-parse --verify "$1^{commit}")"
shift
BENCHES=("$@")
if [ ${#BENCHES[@]} = 0 ]; then BENCHES=(lftoken pull); fi
ROUNDS="${ROUNDS:-2}"
read -r -a EXTRA <<<"${BENCH_ARGS:-}"

NEW_DIR="$(pwd)"
TARGET="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
SCRATCH="$(mktemp -d)"
OLD_DIR="$SCRATCH/old"
cleanup() {
  git -C "$NEW_DIR" worktree remove --force "$OLD_DIR" 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
git worktree add --quiet --detach "$OLD_DIR" "$OLD_REV"

# Prints "bench executable" for each bench of BENCHES the checkout at $1 has.
build() {
  local dir="$1" bench
  for bench in "${BENCHES[@]}"; do
    (cd "$dir" && CARGO_TARGET_DIR="$TARGET" cargo bench --quiet --no-run --bench "$bench" \
      --message-format=json 2>/dev/null) |
      jq -r --arg b "$bench" 'select(.reason == "compiler-artifact" and .target.name == $b and .executable != null) | "\($b) \(.executable)"' ||
      echo "note: $(basename "$dir") has no bench $bench" >&2
  done
}
echo "building $OLD_REV and $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')..." >&2
declare -A OLD_BIN NEW_BIN
while read -r bench exe; do OLD_BIN[$bench]="$exe"; done < <(build "$OLD_DIR")
while read -r bench exe; do NEW_BIN[$bench]="$exe"; done < <(build "$NEW_DIR")

ids() { "$1" --bench --list 2>/dev/null | sed -n 's/: benchmark$//p'; }

# Criterion's central estimate for one id, in ns. Each side keeps its own CRITERION_HOME so
# criterion never compares one side with the other's saved results.
time_ns() {
  local side="$1" exe="$2" id="$3"
  CRITERION_HOME="$SCRATCH/criterion-$side" "$exe" --bench --exact "$id" "${EXTRA[@]}" 2>/dev/null |
    awk '/time:/ {
      sub(/.*time: *\[/, ""); split($0, f, " ")
      v = f[3]; u = f[4]
      m = (u == "ps") ? 0.001 : (u == "ns") ? 1 : (u == "µs" || u == "us") ? 1000 : (u == "ms") ? 1e6 : 1e9
      printf "%.3f\n", v * m; exit }'
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

fmt_ns() { awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.3f µs", v / 1000; else printf "%.1f ns", v }'; }

echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%FT%TZ); old $(git rev-parse --short "$OLD_REV"), new $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes'); $ROUNDS rounds${BENCH_ARGS:+; $BENCH_ARGS}"
printf '%-34s %14s %14s %9s\n' id old new new/old
for bench in "${BENCHES[@]}"; do
  old_exe="${OLD_BIN[$bench]:-}" new_exe="${NEW_BIN[$bench]:-}"
  old_ids="$(if [ -n "$old_exe" ]; then ids "$old_exe"; fi)"
  new_ids="$(if [ -n "$new_exe" ]; then ids "$new_exe"; fi)"
  while read -r id; do
    [ -n "$id" ] || continue
    in_old=0 in_new=0
    grep -qxF "$id" <<<"$old_ids" && in_old=1
    grep -qxF "$id" <<<"$new_ids" && in_new=1
    olds=() news=()
    for round in $(seq 1 "$ROUNDS"); do
      if [ $((round % 2)) = 1 ]; then
        [ $in_old = 1 ] && olds+=("$(time_ns old "$old_exe" "$id")")
        [ $in_new = 1 ] && news+=("$(time_ns new "$new_exe" "$id")")
      else
        [ $in_new = 1 ] && news+=("$(time_ns new "$new_exe" "$id")")
        [ $in_old = 1 ] && olds+=("$(time_ns old "$old_exe" "$id")")
      fi
    done
    old_t="" new_t=""
    [ $in_old = 1 ] && old_t="$(printf '%s\n' "${olds[@]}" | median)"
    [ $in_new = 1 ] && new_t="$(printf '%s\n' "${news[@]}" | median)"
    if [ -n "$old_t" ] && [ -n "$new_t" ]; then
      printf '%-34s %14s %14s %9s\n' "$id" "$(fmt_ns "$old_t")" "$(fmt_ns "$new_t")" \
        "$(awk -v a="$old_t" -v b="$new_t" 'BEGIN { printf "%.2f", b / a }')"
    elif [ -n "$new_t" ]; then
      printf '%-34s %14s %14s %9s\n' "$id" "-" "$(fmt_ns "$new_t")" "new id"
    else
      printf '%-34s %14s %14s %9s\n' "$id" "$(fmt_ns "$old_t")" "-" "gone"
    fi
  done < <(printf '%s\n%s\n' "$old_ids" "$new_ids" | awk 'NF && !seen[$0]++')
done
