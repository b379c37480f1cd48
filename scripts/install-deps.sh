#!/usr/bin/env bash
# Installs every Debian 12 package wfctl needs to build, test and benchmark.
# Idempotent: packages already present are skipped, so a second run costs seconds.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libcli11-dev libfmt-dev libsqlite3-dev sqlite3 libyaml-dev
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libmicrohttpd-dev
  libdcmtk-dev dcmtk libopenjp2-7-dev catch2
  libfftw3-dev python3 python3-numpy python3-pydicom
  librdkafka-dev kcat hyperfine
  zsh fish man-db groff-base curl wrk nginx
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
