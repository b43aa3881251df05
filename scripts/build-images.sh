#!/usr/bin/env bash
# Build the runtime image student programs run in, only when missing or out of date.
#
# The base is the public python slim image when a registry can provide it; where none is
# reachable (this project's CI), a local base is built offline from Debian packages with
# debootstrap and `docker import`. Override with BASE_IMAGE=... to force one.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
runtime_image=${RUNTIME_IMAGE:-socketlab-runtime:latest}
public_base=${PUBLIC_BASE:-python:3.11-slim}
local_base=${LOCAL_BASE:-socketlab-base:bookworm}
suite=${DEBIAN_SUITE:-bookworm}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
    # The mirror this machine's apt already uses, so the offline build needs no other network.
    local uri
    uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
          | grep -m1 -oE 'https?://[^ ]*/debian/?' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

build_local_base() {
    if ! command -v debootstrap >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
              || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
        else
            echo "No registry reachable and no debootstrap: install debootstrap (Debian) as root," >&2
            echo "or pull $public_base on a machine with a registry and 'docker load' it here." >&2
            exit 1
        fi
    fi
    rootfs=$(mktemp -d /tmp/socketlab-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    local mirror
    mirror=$(debian_mirror)
    echo "Building local base $local_base with debootstrap from $mirror (about a minute)..." >&2
    debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" >/tmp/socketlab-debootstrap.log 2>&1 \
      || { tail -n 20 /tmp/socketlab-debootstrap.log >&2; exit 1; }
    # Package caches and docs are dead weight in an image nobody runs apt in.
    rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
           "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        - "$local_base" >/dev/null
}

choose_base() {
    if [ -n "${BASE_IMAGE:-}" ]; then echo "$BASE_IMAGE"; return; fi
    if have_image "$public_base" || docker pull -q "$public_base" >/dev/null 2>&1; then
        echo "$public_base"; return
    fi
    have_image "$local_base" || build_local_base
    echo "$local_base"
}

base=$(choose_base)
base_id=$(docker image inspect -f '{{.Id}}' "$base")
wanted=$( (cat "$here/Dockerfile"; echo "$base_id") | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{index .Config.Labels "socketlab.build"}}' "$runtime_image" 2>/dev/null || true)

if [ "$current" = "$wanted" ]; then
    exit 0
fi
echo "Building $runtime_image FROM $base..." >&2
build_log=$(mktemp /tmp/socketlab-build.XXXXXX)
if ! docker build -q --build-arg "BASE_IMAGE=$base" --label "socketlab.build=$wanted" \
        -t "$runtime_image" -f "$here/Dockerfile" "$here" >"$build_log" 2>&1; then
    cat "$build_log" >&2
    exit 1
fi
rm -f "$build_log"
echo "Built $runtime_image ($(docker image inspect -f '{{.Size}}' "$runtime_image" | awk '{printf "%.0f MB", $1/1e6}'))." >&2
