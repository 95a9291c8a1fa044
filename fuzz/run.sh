#!/usr/bin/env bash
# Runs each fuzz target for a bounded time and reports, per target, the executions and crashes.
#
#   fuzz/run.sh [SECONDS]      # default 60 seconds per target
#
# cargo-fuzz needs nightly-only flags (`-Zsanitizer=address`, sanitizer coverage); on the stable
# toolchain `RUSTC_BOOTSTRAP=1` allows them. Requires `cargo install cargo-fuzz`. Exit status is
# 0 when no target crashed, 1 otherwise; crash inputs land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
targets=(cassette_load cassette_items cassette_scan normalize_request record_redaction ingest_media)
export RUSTC_BOOTSTRAP=1

{ [ -d corpus/cassette_load ] && [ -d corpus/cassette_items ] && [ -d corpus/ingest_media ]; } || ./seed-corpus.sh
mkdir -p target/logs
if ! cargo fuzz build -O >target/logs/build.log 2>&1; then
    cat target/logs/build.log
    exit 2
fi

status=0
printf '%-20s %8s %14s %10s %8s\n' target seconds executions exec/s crashes
for target in "${targets[@]}"; do
    log=target/logs/$target.log
    mkdir -p "artifacts/$target" "corpus/$target"
    before=$(find "artifacts/$target" -type f | wc -l)
    # -timeout: an input that takes over 10 s counts as a hang. -rss_limit_mb: a leak or an
    # allocation bomb counts as a crash. The corpus grows in place.
    set +e
    cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=$(($(find "artifacts/$target" -type f | wc -l) - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
    printf '%-20s %8s %14s %10s %8s\n' "$target" "$seconds" "${execs:-?}" "${rate:-?}" "$crashes"
    if [ "$crashes" -ne 0 ]; then
        status=1
        grep -m1 -A3 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/    /' || true
        ls -t "artifacts/$target" | head -n "$crashes" | sed "s|^|    reproducer: fuzz/artifacts/$target/|"
        echo "    log: fuzz/$log; replay: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O $target <reproducer>)"
    fi
done
exit "$status"
