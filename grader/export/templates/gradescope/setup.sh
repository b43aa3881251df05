#!/usr/bin/env bash
# Gradescope runs this once, as root, from /autograder/source, when it builds the autograder's image.
# It installs the grader where no student program can read it and makes the account they run as.
set -euo pipefail
cd "$(dirname "$0")"

apt-get update
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get install -y --no-install-recommends python3-venv       # Ubuntu 24.04: its python3 is 3.12
    PYTHON=python3
else
    apt-get install -y --no-install-recommends python3 python3.11 python3.11-venv   # Ubuntu 22.04
    PYTHON=python3.11
fi

mkdir -p /opt/socketlab
"$PYTHON" -m venv /opt/socketlab/venv
/opt/socketlab/venv/bin/pip install --quiet ./socketlab-grader
chmod 0700 /opt/socketlab /autograder/source

# Student programs run as this user, never as root (who writes the results).
id -u socketlab-student >/dev/null 2>&1 || \
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin socketlab-student
