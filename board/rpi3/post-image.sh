#!/bin/bash
# Buildroot post-image script for the pinvr images: puts the default
# pinvr.json beside the other boot files and runs genimage on genimage.cfg
# (boot vfat, rootfs ext4, data partition).

set -euo pipefail

BOARD_DIR="$(dirname "$0")"
GENIMAGE_CFG="${BOARD_DIR}/genimage.cfg"
GENIMAGE_TMP="${BUILD_DIR}/genimage.tmp"

install -m 0644 "${BOARD_DIR}/pinvr.json" "${BINARIES_DIR}/pinvr.json"

# The kernel's file name (Image or zImage) is the one config.txt boots.
PINVR_KERNEL="$(sed -n 's/^kernel=//p' "${BINARIES_DIR}/rpi-firmware/config.txt")"
export PINVR_KERNEL

# genimage copies --rootpath whole; pass an empty one, since the rootfs image
# is already built (as Buildroot's own post-image.sh does).
ROOTPATH_TMP="$(mktemp -d)"
trap 'rm -rf "${ROOTPATH_TMP}"' EXIT

rm -rf "${GENIMAGE_TMP}"

genimage \
	--rootpath "${ROOTPATH_TMP}" \
	--tmppath "${GENIMAGE_TMP}" \
	--inputpath "${BINARIES_DIR}" \
	--outputpath "${BINARIES_DIR}" \
	--config "${GENIMAGE_CFG}"
