#!/usr/bin/env bash
# make_clip.sh: makes a synthetic H.264 MP4 clip for the fake camera
# (tests/fake_camera.py). The picture is ffmpeg's testsrc2, which draws a
# running timestamp, so a recording shows where in the clip it is.
#
# Usage: tests/make_clip.sh OUT.mp4 WIDTHxHEIGHT FPS SECONDS GOP_FRAMES [BITRATE]
#   e.g. tests/make_clip.sh /tmp/clip.mp4 320x240 10 10 10 500k
#
# The clip is camera-like: main profile, no B-frames, a fixed GOP of
# GOP_FRAMES frames (every GOP starts with an IDR, no scene-cut keyframes),
# constant-ish bitrate (default 500k), yuv420p, moov atom first (faststart).
set -euo pipefail

usage() {
    echo "usage: $0 OUT.mp4 WIDTHxHEIGHT FPS SECONDS GOP_FRAMES [BITRATE]" >&2
    exit 2
}

if [[ $# -lt 5 || $# -gt 6 ]]; then
    usage
fi

out=$1
size=$2
fps=$3
seconds=$4
gop=$5
bitrate=${6:-500k}

[[ $size =~ ^[0-9]+x[0-9]+$ ]] || usage
[[ $fps =~ ^[0-9]+$ && $fps -gt 0 ]] || usage
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
[[ $gop =~ ^[0-9]+$ && $gop -gt 0 ]] || usage
[[ $bitrate =~ ^[0-9]+[kKmM]?$ ]] || usage

# bufsize of two seconds' worth of bits keeps the rate close to constant,
# as a camera's encoder would.
case $bitrate in
    *[kK]) bufsize="$(( ${bitrate%[kK]} * 2 ))k" ;;
    *[mM]) bufsize="$(( ${bitrate%[mM]} * 2 ))M" ;;
    *) bufsize="$(( bitrate * 2 ))" ;;
esac

exec ffmpeg -hide_banner -loglevel error -nostdin -y \
    -f lavfi -i "testsrc2=size=${size}:rate=${fps}" \
    -t "$seconds" \
    -an \
    -pix_fmt yuv420p \
    -c:v libx264 -preset veryfast -tune zerolatency \
    -profile:v main -bf 0 \
    -g "$gop" -keyint_min "$gop" -sc_threshold 0 \
    -b:v "$bitrate" -maxrate "$bitrate" -bufsize "$bufsize" \
    -movflags +faststart \
    "$out"
