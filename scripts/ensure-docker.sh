#!/bin/sh
# Install what the Docker tests need when it is missing: Debian's docker.io
# (dockerd) and busybox-static (the offline test image's only binary).
# Usage: scripts/ensure-docker.sh   (root on Debian; a no-op when both are present)
set -eu

need=""
command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
[ -x /bin/busybox ] || need="$need busybox-static"

if [ -z "$need" ]; then
    echo "ensure-docker: dockerd and /bin/busybox are present"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "ensure-docker: missing:$need; run as root or install them with apt-get" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-docker: missing:$need and apt-get is not available" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need
echo "ensure-docker: installed:$need"
