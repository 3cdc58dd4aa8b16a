#!/usr/bin/env bash
# Soak (not for CI): pinvr records N fake cameras (default 8) for DURATION seconds (default
# 1800) while its VmRSS is sampled every INTERVAL seconds (default 10); prints the
# least-squares slope of RSS over time in KiB/min (all samples, and the second half alone,
# after the allocator has settled), the RSS range and the peak (VmHWM).
#
# Usage: bench/soak.sh [--cameras N] [--duration S] [--interval S] [--pinvr PATH] [--workdir DIR]
#
# The cameras are tests/fake_camera.py looping a 1920x1080, 20 fps, 3 Mbit/s, 2 s GOP clip
# (tests/make_clip.sh), on free ports of 127.0.0.1. Samples go to WORKDIR/rss.tsv
# (seconds since pinvr started, VmRSS in KiB). The recordings are deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
cameras=8 duration=1800 interval=10 pinvr="" work=target/bench-soak
while [ $# -gt 0 ]; do
	case $1 in
	--cameras) cameras=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--interval) interval=$2; shift 2 ;;
	--pinvr) pinvr=$2; shift 2 ;;
	--workdir) work=$2; shift 2 ;;
	*) echo "usage: $0 [--cameras N] [--duration S] [--interval S] [--pinvr PATH] [--workdir DIR]" >&2; exit 2 ;;
	esac
done
say() { echo "[$(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
if [ -z "$pinvr" ]; then
	say "cargo build --release (set --pinvr to skip)"
	cargo build --release --quiet
	pinvr=target/release/pinvr
fi
# A private copy: a rebuild of target/release/pinvr during the soak does not touch it.
cp "$pinvr" "$work/pinvr"
clip=$work/clip-1080p20-3M-30s.mp4
[ -f "$clip" ] || tests/make_clip.sh "$clip" 1920x1080 20 30 40 3M

pids=()
pinvr_pid=
cleanup() {
	# Stop only what this script started, by pid.
	for p in $pinvr_pid "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pinvr_pid "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$work/data"
}
trap cleanup EXIT

say "starting $cameras fake camera(s)"
for i in $(seq 0 $((cameras - 1))); do
	/usr/bin/python3 tests/fake_camera.py --port 0 --clip "$clip" >"$work/camera$i.out" 2>"$work/camera$i.log" </dev/null &
	pids+=($!)
done
urls=()
deadline=$((SECONDS + 60))
for i in $(seq 0 $((cameras - 1))); do
	until grep -q '^READY ' "$work/camera$i.out"; do
		[ $SECONDS -lt $deadline ] || { say "camera $i not ready; see $work/camera$i.log"; exit 1; }
		sleep 0.1
	done
	urls+=("$(sed -n 's/^READY //p' "$work/camera$i.out")")
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$work/data"
{
	printf '{"data_dir": "%s", "web": {"listen": "127.0.0.1:%s"}, "cameras": [' "$work/data" "$port"
	for i in $(seq 0 $((cameras - 1))); do
		[ "$i" = 0 ] || printf ', '
		printf '{"id": "c%s", "url": "%s"}' "$i" "${urls[$i]}"
	done
	printf ']}\n'
} >"$work/pinvr.json"
"$work/pinvr" run --config "$work/pinvr.json" </dev/null >"$work/pinvr.log" 2>&1 &
pinvr_pid=$!
start=$(date +%s.%N)
say "pinvr (pid $pinvr_pid) records $cameras camera(s) for ${duration} s; VmRSS every ${interval} s -> $work/rss.tsv"

: >"$work/rss.tsv"
while :; do
	now=$(date +%s.%N)
	t=$(echo "$now - $start" | bc -l)
	[ "$(echo "$t >= $duration" | bc -l)" = 1 ] && break
	kill -0 "$pinvr_pid" 2>/dev/null || { say "pinvr exited early; see $work/pinvr.log"; exit 1; }
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pinvr_pid/status")
	printf '%.1f\t%s\n' "$t" "$rss" >>"$work/rss.tsv"
	# Sleep to the next multiple of the interval since start, so sampling does not drift.
	next=$(echo "($t / $interval + 1) / 1" | bc)
	sleep "$(echo "$next * $interval - $t" | bc -l | sed 's/^\./0./')"
done
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pinvr_pid/status")
recording=$(python3 -c 'import json, sys, urllib.request
j = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/1/system.json", timeout=5))
print(sum(c["recording"] for c in j["payload"]["cameras"].values()))' "$port")
kill -TERM "$pinvr_pid"
for _ in $(seq 1200); do kill -0 "$pinvr_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pinvr_pid" 2>/dev/null; then say "pinvr still running 120 s after SIGTERM"; exit 1; fi
wait "$pinvr_pid" || true
pinvr_pid=
mp4s=$(find "$work/data" -name '*.mp4' | wc -l)
errors=$(grep -c -E 'ERROR|WARN' "$work/pinvr.log" || true)

# x = minutes since start, y = VmRSS in KiB; least squares slope = Sxy / Sxx.
slope() {
	awk '{ x = $1 / 60; y = $2; n++; sx += x; sy += y; sxy += x * y; sxx += x * x }
	     END { if (n < 2) { print "n/a"; exit } d = n * sxx - sx * sx
	           if (d == 0) print "n/a"; else printf "%.1f", (n * sxy - sx * sy) / d }'
}
n=$(wc -l <"$work/rss.tsv")
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, Linux $(uname -r)"
echo "Command: bench/soak.sh --cameras $cameras --duration $duration --interval $interval"
echo
echo "| what | value |"
echo "|---|---|"
echo "| cameras recording at the end | $recording of $cameras |"
echo "| minute MP4s written | $mp4s |"
echo "| warnings and errors in pinvr's log | $errors |"
echo "| VmRSS samples | $n, every $interval s |"
awk '{print $2}' "$work/rss.tsv" | sort -n | awk '{a[NR] = $1} END {printf "| VmRSS min / median / max | %.1f / %.1f / %.1f MiB |\n", a[1] / 1024, a[int((NR + 1) / 2)] / 1024, a[NR] / 1024}'
echo "| peak RSS (VmHWM) | $(echo "scale=1; $hwm / 1024" | bc) MiB |"
echo "| RSS slope, all samples | $(slope <"$work/rss.tsv") KiB/min |"
echo "| RSS slope, second half | $(tail -n $((n / 2)) "$work/rss.tsv" | slope) KiB/min |"
