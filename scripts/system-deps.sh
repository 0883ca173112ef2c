#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when they are missing:
#   docker.io       a Docker engine (the tests start a private dockerd when none is reachable)
#   busybox-static  the one binary of the offline test image (no registry is reachable)
#   redis-server    a real Redis for the login-cache invalidation tests (never started as a service)
#   openssh-server  an sshd in front of the test Docker engine, for ssh:// Docker hosts (the
#                   tests start their own on a free port; never started as a service)
# Without root or apt it only reports what is missing; the tests then fail with a
# message naming it (they never skip).
set -euo pipefail
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]} (install them, or run as root on Debian)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps apt from starting the services it installs (redis-server, docker, sshd)
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
