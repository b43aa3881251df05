#!/usr/bin/env bash
# Make a Docker engine reachable, or say exactly what to do instead.
# On a fresh Debian machine where we are root, install docker.io and start dockerd;
# anywhere else, never touch the system: print the fix and fail.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/socketlab-dockerd.log}
wait_seconds=${DOCKERD_WAIT:-60}

engine_up() { docker info >/dev/null 2>&1; }

if engine_up; then
    exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    cat >&2 <<'MSG'
Docker engine not reachable.
  Fix: start Docker (e.g. `sudo systemctl start docker`, or Docker Desktop), make sure
  `docker info` works for your user, then run the command again.
  Without Docker, students can still self-check with local processes (not sandboxed):
    pytest grader/ --submission DIR --sandbox local
MSG
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    echo "Installing Docker engine (Debian package docker.io)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
fi

echo "Starting dockerd (log: $log)..." >&2
# setsid + nohup: the daemon must outlive make and this shell, and must not hold their stdout.
setsid nohup dockerd >"$log" 2>&1 < /dev/null &

for _ in $(seq 1 "$wait_seconds"); do
    if engine_up; then
        echo "Docker engine is up." >&2
        exit 0
    fi
    sleep 1
done
echo "dockerd did not become reachable within ${wait_seconds}s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
