"""Autograders for the platforms where courses already grade: Gradescope, PrairieLearn, Autolab, GitHub Classroom.

`grader export PLATFORM --out DIR` (`bundle.py`) writes what an instructor uploads; on the
platform, `python -m grader.export.run PLATFORM --root ROOT` (`run.py`) grades the one
submission found in the platform's layout in local mode, hardened (see
grader/sandbox/local.py), and writes the platform's results (`formats.py`).
"""

PLATFORMS = ("gradescope", "prairielearn", "autolab", "classroom")
