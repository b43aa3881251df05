#!/usr/bin/env bash
# PrairieLearn's entry point, run as root in the grading container: grades /grade/student and
# writes /grade/results/results.json, exiting 0 whatever the student scored. GRADE_ROOT moves
# the layout (for tests).
ROOT="${GRADE_ROOT:-/grade}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${SOCKETLAB_PYTHON:-$HERE/venv/bin/python}"
export SOCKETLAB_STUDENT_USER="${SOCKETLAB_STUDENT_USER:-socketlab-student}"
exec "$PYTHON" -m grader.export.run prairielearn --root "$ROOT" --assignment "$HERE/assignment.toml" \
    --time-limit @TIMEOUT@
