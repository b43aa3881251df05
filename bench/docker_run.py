"""Machine-CPU baseline: the cheapest container there is, `docker run --rm --network none IMAGE python3 -c 1`.

    python -m bench.docker_run [--runs 20]

IMAGE is the grader's runtime image (grader.sandbox.docker.DEFAULT_IMAGE), so the Python that
starts is the one student programs get. Each run is timed by the machine's busy CPU (bench.cpu:
/proc/stat, every core) from just before the docker CLI starts until it has exited, which with
`--rm` is after the container is removed: the CLI, dockerd, containerd, the shim, runc and the
container's own python3 all count, and so does anything else the machine runs meanwhile; the
median of the runs keeps the figure from being one busy moment. The first run only warms the
page cache and the daemon, and is not counted. Before each run the bench sleeps a moment and
reads the busy CPU of that rest too: what the machine spends on other work, which inflates
every machine-CPU figure of the run, this one and the gradings' alike.

The throughput target is machine CPU per graded submission against this: a grading starts many
containers, and this says what a container costs before the grader does anything with it.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass

from bench.cpu import busy_cpu_seconds
from bench.stats import Summary, summarize
from grader.sandbox.docker import DEFAULT_IMAGE

RUN_TIMEOUT = 60.0  # seconds; a `python3 -c 1` container that takes longer means a broken engine
WARM_UP_RUNS = 1
REST = 0.5  # seconds of rest before each run, whose busy CPU is other work's


@dataclass(frozen=True)
class DockerRunFigures:
    image: str
    runs: int
    cpu: Summary  # machine CPU seconds per run, start to removal
    wall: Summary  # seconds per run, as the CLI took
    rest_cores: Summary  # cores busy while the bench rested: the machine's other work


def command(image: str) -> list[str]:
    return ["docker", "run", "--rm", "--network", "none", image, "python3", "-c", "1"]


def run_once(image: str) -> tuple[float, float]:
    """(wall seconds, machine CPU seconds) of one run; RuntimeError when it does not exit with 0."""
    busy_before, started = busy_cpu_seconds(), time.monotonic()
    completed = subprocess.run(
        command(image), stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT, check=False
    )
    wall, cpu = time.monotonic() - started, busy_cpu_seconds() - busy_before
    if completed.returncode != 0:
        error = completed.stderr.decode(errors="replace")[-1000:]
        raise RuntimeError(f"`{' '.join(command(image))}` exited with {completed.returncode}: {error}")
    return wall, cpu


def busy_cores_at_rest(seconds: float = REST) -> float:
    before = busy_cpu_seconds()
    time.sleep(seconds)
    return (busy_cpu_seconds() - before) / seconds


def measure(runs: int, image: str = DEFAULT_IMAGE) -> DockerRunFigures:
    for _ in range(WARM_UP_RUNS):
        run_once(image)
    rest, samples = [], []
    for _ in range(runs):
        rest.append(busy_cores_at_rest())
        samples.append(run_once(image))
    return DockerRunFigures(
        image, runs, summarize([c for _, c in samples]), summarize([w for w, _ in samples]), summarize(rest)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    args = parser.parse_args()
    figures = measure(args.runs, args.image)
    print(
        f"{' '.join(command(figures.image))}: machine CPU median {figures.cpu.median:.3f} s "
        f"(worst {figures.cpu.worst:.3f} s), wall median {figures.wall.median * 1000:.0f} ms ({figures.runs} runs); "
        f"{figures.rest_cores.median:.2f} cores busy at rest"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
