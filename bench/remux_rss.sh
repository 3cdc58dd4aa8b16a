#!/usr/bin/env bash
# Peak memory and time of finishing one 60 s 1080p minute: pinvr's in-process remux (with
# and without the preview JPEGs) beside what a user would otherwise run, ffmpeg's
# `-c copy` remux and ffmpeg's first-frame JPEG. Usage: bench/remux_rss.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-target/bench-remux}
mkdir -p "$work"
cargo build --release --quiet
pinvr=target/release/pinvr
clip=$work/clip1080.mp4
if [ ! -f "$clip" ]; then
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=20:duration=60 \
		-c:v libx264 -profile:v main -pix_fmt yuv420p -preset ultrafast -bf 0 \
		-g 40 -keyint_min 40 -sc_threshold 0 -b:v 3M -maxrate 3M -bufsize 6M "$clip"
fi
chunk=$work/cam.20261123.1400.chunk
"$pinvr" mp4-to-chunk --start-us 1795442400000000 "$chunk" "$clip" >/dev/null

measure() {
	local label=$1
	shift
	/usr/bin/time -f "%M %U %S %e" -o "$work/time.txt" "$@" >/dev/null 2>&1
	read -r rss user sys wall <"$work/time.txt"
	printf '| %-44s | %6.1f MiB | %5s s | %5s s | %5s s |\n' "$label" "$(echo "$rss / 1024" | bc -l)" "$user" "$sys" "$wall"
}

echo "| what (60 s, 1920x1080, 20 fps, 3 Mbit/s)      | peak RSS   | user    | sys     | wall    |"
echo "|---|---|---|---|---|"
measure "pinvr remux --no-preview (MP4 only)" "$pinvr" remux --no-preview "$chunk" "$work/a.mp4"
measure "pinvr remux (MP4 + preview + thumbnail)" "$pinvr" remux "$chunk" "$work/b.mp4"
measure "ffmpeg -c copy -movflags +faststart" ffmpeg -nostdin -v error -y -i "$clip" -c copy -movflags +faststart "$work/c.mp4"
measure "ffmpeg first frame to JPEG" ffmpeg -nostdin -v error -y -i "$clip" -frames:v 1 "$work/c.jpg"
ffmpeg -nostdin -v error -i "$work/b.mp4" -f null - && echo "pinvr's MP4 decodes silently with ffmpeg"
