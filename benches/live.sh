#!/usr/bin/env bash
# The data plane's cost: CPU per ingested 2.5 Mbps stream and per HLS viewer, for ivs-vcr's RTMP
# ingest and HLS playback and for nginx with Debian's libnginx-mod-rtmp doing the same RTMP-to-HLS
# job (2 s fragments, a 12 s playlist: ivs-vcr's LOW latency window), measured in the same run.
#
#   benches/live.sh [STREAMS] [VIEWERS] [SECONDS]     (defaults: 8 streams, 32 viewers, 20 s)
#
# A test FLV (720p30 H.264 at a constant 2.4 Mbps with 96 kbps AAC: 2.5 Mbps) is encoded once;
# each stream is an `ffmpeg -re -stream_loop -1 -c copy` of it, so encoding costs nothing here.
# Each server's CPU (user + system, from /proc, nginx's master and worker together, one worker
# process) is read over SECONDS with the streams alone, then again with VIEWERS polling viewers
# (benches/live_viewers.py) spread over the streams. Streams per core is 1 / (CPU of one stream).
# Needs ffmpeg, nginx-light (or any nginx) and libnginx-mod-rtmp, python3 and curl; uses the
# release build. Asserts nothing: the figures belong to the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
streams="${1:-8}"
viewers="${2:-32}"
seconds="${3:-20}"
for tool in ffmpeg nginx python3 curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed (apt-get install ffmpeg nginx-light libnginx-mod-rtmp)" >&2; exit 2; }
done
module=/usr/lib/nginx/modules/ngx_rtmp_module.so
[ -f "$module" ] || { echo "error: $module is missing (apt-get install libnginx-mod-rtmp)" >&2; exit 2; }
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${IVS_VCR_BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

cargo build --release --locked --quiet
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/ivs-vcr"
tick="$(getconf CLK_TCK)"

echo "encoding the test stream once (20 s, 720p30, 2.5 Mbps)" >&2
ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30 \
  -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 \
  -c:v libx264 -preset veryfast -b:v 2400k -minrate 2400k -maxrate 2400k -bufsize 2400k \
  -x264-params nal-hrd=cbr -g 60 -c:a aac -b:a 96k -f flv "$work/in.flv"

# CPU ticks (user + system) of the given processes.
ticks() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat"; done | awk '{ s += $1 } END { print s }'; }
# CPU seconds the processes used over $seconds.
cpu_over() {
  local before after
  before="$(ticks "$@")"
  sleep "$seconds"
  after="$(ticks "$@")"
  awk -v a="$before" -v b="$after" -v t="$tick" 'BEGIN { printf "%.3f", (b - a) / t }'
}

# Runs one server's measurement: $1 name, $2 the server's pids (space-separated), $3 a file of
# RTMP URLs (one per stream), $4 a file of playback URLs (one per stream). Prints
# `name cpu_streams cpu_viewers viewer_report`.
measure() {
  local name="$1" server_pids="$2" rtmp_urls="$3" play_urls="$4" pushers=() url
  while read -r url; do
    ffmpeg -loglevel error -re -stream_loop -1 -i "$work/in.flv" -c copy -f flv "$url" </dev/null &
    pushers+=("$!")
    pids+=("$!")
  done <"$rtmp_urls"
  sleep 8
  # shellcheck disable=SC2086
  local alone with report
  alone="$(cpu_over $server_pids)"
  mapfile -t urls <"$play_urls"
  local viewer_urls=()
  for ((i = 0; i < viewers; i++)); do viewer_urls+=("${urls[$((i % ${#urls[@]}))]}"); done
  python3 benches/live_viewers.py "$((seconds + 6))" "${viewer_urls[@]}" >"$work/$name.viewers" &
  local viewers_pid=$!
  pids+=("$viewers_pid")
  sleep 4
  # shellcheck disable=SC2086
  with="$(cpu_over $server_pids)"
  wait "$viewers_pid" || true
  report="$(cat "$work/$name.viewers")"
  for pid in "${pushers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pushers[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "$name $alone $with $report"
}

# --- ivs-vcr ---
"$bin" serve --port 0 --rtmp-port 0 --playback-port 0 --playback-urls-here \
  --max-rtmp-connections 1000 >"$work/ivs-vcr.out" 2>"$work/ivs-vcr.err" </dev/null &
ivs_pid=$!
pids+=("$ivs_pid")
for _ in $(seq 50); do grep -q '^HLS playback' "$work/ivs-vcr.out" 2>/dev/null && break; sleep 0.1; done
api="$(grep -o 'listening on http://[0-9.:]*' "$work/ivs-vcr.out" | sed 's/listening on //')"
rtmp="$(grep -o 'rtmp://[0-9.:]*/app/' "$work/ivs-vcr.out" | head -n 1)"
: >"$work/ivs.rtmp"; : >"$work/ivs.play"
for ((i = 0; i < streams; i++)); do
  created="$(curl -s -X POST "$api/CreateChannel" -H 'Content-Type: application/json' -d "{\"name\":\"bench$i\"}")"
  key="$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["streamKey"]["value"])')"
  url="$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["channel"]["playbackUrl"])')"
  echo "$rtmp$key" >>"$work/ivs.rtmp"
  echo "$url" >>"$work/ivs.play"
done
echo "measuring ivs-vcr: $streams streams, then $viewers viewers, ${seconds} s each" >&2
ivs_line="$(measure ivs-vcr "$ivs_pid" "$work/ivs.rtmp" "$work/ivs.play")"
kill "$ivs_pid"

# --- nginx-rtmp ---
port_of() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_rtmp="$(port_of)"
nginx_http="$(port_of)"
mkdir -p "$work/nginx/hls"
# nginx's workers run as another user when started as root: they must reach the HLS folder.
chmod 755 "$work" "$work/nginx"
chmod 777 "$work/nginx/hls"
cat >"$work/nginx/nginx.conf" <<CONF
load_module $module;
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
rtmp {
  server {
    listen 127.0.0.1:$nginx_rtmp;
    chunk_size 4096;
    application app {
      live on;
      hls on;
      hls_path $work/nginx/hls;
      hls_fragment 2s;
      hls_playlist_length 12s;
    }
  }
}
http {
  access_log off;
  sendfile on;
  server {
    listen 127.0.0.1:$nginx_http;
    location /hls/ { alias $work/nginx/hls/; types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; } }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
pids+=("$nginx_pid")
sleep 1
nginx_pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
: >"$work/nginx.rtmp"; : >"$work/nginx.play"
for ((i = 0; i < streams; i++)); do
  echo "rtmp://127.0.0.1:$nginx_rtmp/app/bench$i" >>"$work/nginx.rtmp"
  echo "http://127.0.0.1:$nginx_http/hls/bench$i.m3u8" >>"$work/nginx.play"
done
echo "measuring nginx-rtmp: $streams streams, then $viewers viewers, ${seconds} s each" >&2
nginx_line="$(measure nginx-rtmp "$nginx_pids" "$work/nginx.rtmp" "$work/nginx.play")"
kill "$nginx_pid"

# --- figures ---
printf '%s\n%s\n' "$ivs_line" "$nginx_line" | awk -v n="$streams" -v v="$viewers" -v s="$seconds" '
  {
    name[NR] = $1
    per_stream[NR] = $2 / s / n                      # cores per stream
    per_viewer[NR] = ($3 - $2) / s / v               # cores per viewer
    report[NR] = $4 " " $5 " " $6 " " $7
  }
  END {
    printf "%-11s %14s %15s %16s  %s\n", "server", "CPU/stream %", "streams/core", "CPU/viewer %", "viewers saw"
    for (i = 1; i <= NR; i++)
      printf "%-11s %14.3f %15.1f %16.4f  %s\n", name[i], 100 * per_stream[i], 1 / per_stream[i], 100 * per_viewer[i], report[i]
    printf "ratio ivs-vcr/nginx-rtmp: streams per core %.2f, CPU per viewer %.2f\n", per_stream[2] / per_stream[1], per_viewer[1] / per_viewer[2]
  }'
