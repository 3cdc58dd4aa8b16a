#!/usr/bin/env bash
# make_clip.sh: makes a synthetic H.264 or H.265 MP4 clip for the fake camera
# (tests/fake_camera.py). The picture is ffmpeg's testsrc2, which draws a
# running timestamp, so a recording shows where in the clip it is.
#
# Usage: tests/make_clip.sh OUT.mp4 WIDTHxHEIGHT FPS SECONDS GOP_FRAMES [BITRATE [CODEC]]
#   e.g. tests/make_clip.sh /tmp/clip.mp4 320x240 10 10 10 500k
#        tests/make_clip.sh /tmp/clip265.mp4 640x360 10 10 10 500k h265
#
# CODEC is h264 (the default: libx264, main profile) or h265 (libx265, main
# profile, tagged hvc1 as cameras' and Apple's MP4s are).
#
# The clip is camera-like: no B-frames, a fixed GOP of GOP_FRAMES frames
# (every GOP starts with an IDR, no scene-cut keyframes), constant-ish
# bitrate (default 500k), yuv420p, moov atom first (faststart).
set -euo pipefail

usage() {
    echo "usage: $0 OUT.mp4 WIDTHxHEIGHT FPS SECONDS GOP_FRAMES [BITRATE [h264|h265]]" >&2
    exit 2
}

if [[ $# -lt 5 || $# -gt 7 ]]; then
    usage
fi

out=$1
size=$2
fps=$3
seconds=$4
gop=$5
bitrate=${6:-500k}
codec=${7:-h264}

[[ $size =~ ^[0-9]+x[0-9]+$ ]] || usage
[[ $fps =~ ^[0-9]+$ && $fps -gt 0 ]] || usage
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
[[ $gop =~ ^[0-9]+$ && $gop -gt 0 ]] || usage
[[ $bitrate =~ ^[0-9]+[kKmM]?$ ]] || usage
[[ $codec == h264 || $codec == h265 ]] || usage

# bufsize of two seconds' worth of bits keeps the rate close to constant,
# as a camera's encoder would.
case $bitrate in
    *[kK]) bufsize="$(( ${bitrate%[kK]} * 2 ))k" ;;
    *[mM]) bufsize="$(( ${bitrate%[mM]} * 2 ))M" ;;
    *) bufsize="$(( bitrate * 2 ))" ;;
esac

case $codec in
    h264)
        encoder=(
            -c:v libx264 -preset veryfast -tune zerolatency
            -profile:v main -bf 0
            -g "$gop" -keyint_min "$gop" -sc_threshold 0
        )
        ;;
    h265)
        # x265 takes its GOP and B-frame settings from -x265-params; scene
        # cuts off so that key frames come only every GOP_FRAMES frames.
        encoder=(
            -c:v libx265 -preset veryfast -tag:v hvc1
            -x265-params "keyint=${gop}:min-keyint=${gop}:scenecut=0:open-gop=0:bframes=0:log-level=error"
        )
        ;;
esac

exec ffmpeg -hide_banner -loglevel error -nostdin -y \
    -f lavfi -i "testsrc2=size=${size}:rate=${fps}" \
    -t "$seconds" \
    -an \
    -pix_fmt yuv420p \
    "${encoder[@]}" \
    -b:v "$bitrate" -maxrate "$bitrate" -bufsize "$bufsize" \
    -movflags +faststart \
    "$out"
