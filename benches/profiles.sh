#!/usr/bin/env bash
# What the `dist` profile (fat LTO, one codegen unit: what the wheel and the npm package ship)
# buys over `release` (cargo's defaults: the everyday `cargo run --release`), in replay's cost per
# request. Builds the `instructions` and `replay` benches in both profiles, then prints, for each
# profile and their ratio:
#   - instructions per replayed and per emulated GetChannel, under callgrind (a count that does not
#     move with the machine's noise; skipped when valgrind is missing), and
#   - replay's server CPU per request and requests/s at saturation (`cargo bench --bench replay --
#     --quick --small`), from runs of the two builds taken in turn, so that noise from elsewhere on
#     the machine falls on both alike.
# Usage: benches/profiles.sh [RUNS]   (RUNS: throughput runs per profile, default 3)
# Asserts nothing: the figures belong to the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
profiles=(release dist)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The path of bench $2 built with profile $1 (cargo's JSON messages name the executable).
bench_bin() {
  cargo build --locked --quiet --profile "$1" --bench "$2" --message-format=json \
    | jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' \
    | tail -n 1
}

# The first figure of a list, halfway through once sorted.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

declare -A instructions_bin replay_bin
for profile in "${profiles[@]}"; do
  echo "building the benches with --profile $profile" >&2
  instructions_bin[$profile]="$(bench_bin "$profile" instructions)"
  replay_bin[$profile]="$(bench_bin "$profile" replay)"
done

declare -A figure
if command -v valgrind >/dev/null; then
  # Instructions for 6,000 requests less those for 2,000, over 4,000: a request's own cost,
  # without the start and stop (see benches/instructions.rs).
  for profile in "${profiles[@]}"; do
    for which in replay emulator; do
      for n in 2000 6000; do
        valgrind --tool=callgrind --callgrind-out-file="$work/cg.$profile.$which.$n" \
          "${instructions_bin[$profile]}" "$which" "$n" 2>/dev/null
      done
      total() { awk '/^(summary|totals):/ { print $2; exit }' "$work/cg.$profile.$which.$1"; }
      figure[$profile.$which]=$(( ($(total 6000) - $(total 2000)) / 4000 ))
    done
  done
  echo "instructions per request (callgrind, client included):"
  for which in replay emulator; do
    printf '  %-9s release %7d  dist %7d  release/dist %s\n' "$which" \
      "${figure[release.$which]}" "${figure[dist.$which]}" \
      "$(ratio "${figure[release.$which]}" "${figure[dist.$which]}")"
  done
else
  echo "valgrind is not installed: no instruction counts" >&2
fi

# Throughput: each run prints one line per round for replay on 10 interactions.
for ((run = 1; run <= runs; run++)); do
  for profile in "${profiles[@]}"; do
    echo "replay bench, run $run of $runs, --profile $profile" >&2
    "${replay_bin[$profile]}" --quick --small \
      | grep '^round [0-9]*: ivs-vcr replay (10 interactions)' >>"$work/replay.$profile"
  done
done
for profile in "${profiles[@]}"; do
  figure[$profile.cpu]=$(sed -n 's/.*server CPU *\([0-9.]*\) µs\/req.*/\1/p' "$work/replay.$profile" | median)
  figure[$profile.rps]=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "req/s") { print $i; exit } }' \
    "$work/replay.$profile" | median)
  figure[$profile.rounds]=$(wc -l <"$work/replay.$profile")
done
echo "replay, 10 interactions, median of ${figure[release.rounds]} rounds per profile:"
printf '  server CPU per request  release %s µs  dist %s µs  release/dist %s\n' \
  "${figure[release.cpu]}" "${figure[dist.cpu]}" "$(ratio "${figure[release.cpu]}" "${figure[dist.cpu]}")"
printf '  requests/s              release %s  dist %s  release/dist %s\n' \
  "${figure[release.rps]}" "${figure[dist.rps]}" "$(ratio "${figure[release.rps]}" "${figure[dist.rps]}")"
