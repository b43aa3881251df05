"""Every hostile program of the corpus, graded beside the reference in one `grader grade --jobs 4`.

Each program carries its expected verdict on its first line (tests/hostile/corpus_verdicts.py).
One round grades them all and fails on any mismatch; it also checks that the grader survived
each (a report per student, no grader error), that the reference keeps full marks, and that
the machine is back where it was: no student process, no labelled container or network, and
process count, memory and disk within a small tolerance. The tolerance is there because
this machine runs other things too (the page cache, Docker's own bookkeeping); a program
that escaped its limits would blow far past it.

Only what the run owns is measured (its containers, volumes, networks and scratch folders,
found by their owner labels and names, and the disk its reports use), never the machine's
free disk: other work on a shared machine writes to /tmp as it likes.

The rounds repeat, so a hostile neighbour that could move the reference's score even once
in a while would show. Each round prints its figures: the grader's peak memory and the
worst time from a container hitting a limit (or being stopped) to its being gone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import psutil
import pytest
from corpus_verdicts import Expected, mismatches, read_expected

from grader import junit
from grader.report import format_result, root_causes
from grader.sandbox.docker import LABEL
from grader.scratch import PREFIX as SCRATCH_PREFIX

# A round grades every program, some of them twice (a timed failure is confirmed alone),
# beyond the suite's per-test limit on a busy CI runner.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((Path(__file__).resolve().parent / "corpus").glob("*.py"))
GRADER = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "grader"
ROUNDS = 3  # the load a shared machine brings is tests/stress/'s job; these rounds are about neighbours
STUDENT_UID = 10001
IMAGE = "socketlab-runtime:latest"
PROCESS_SLACK = 20  # processes: other work on the machine comes and goes
MEMORY_SLACK = 256 << 20  # bytes of available memory: page cache, dockerd's own growth
MAX_REPORTS = 64 << 20  # bytes the run's reports may take: a flood's output must arrive capped
MAX_CHECK_TEXT = 20_000  # characters of one check's report: a flood's output must arrive capped


@dataclass(frozen=True)
class MachineState:
    processes: int
    available_memory: int

    @classmethod
    def now(cls) -> MachineState:
        return cls(len(psutil.pids()), psutil.virtual_memory().available)


def _disk_used(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _scratch_left(owners: set[int]) -> list[str]:
    """Scratch folders of the run's processes still on disk (their names carry the owner's PID)."""
    return [
        p.name
        for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")
        if p.name[len(SCRATCH_PREFIX) :].partition("-")[0] in {str(o) for o in owners}
    ]


def _student_processes_in(containers: set[str]) -> list[str]:
    """Processes of the student's uid still alive in any of `containers` (by their cgroup)."""
    found = []
    for process in psutil.process_iter(["uids", "name", "pid"]):
        uids = process.info["uids"]
        if uids is None or STUDENT_UID not in (uids.real, uids.effective):
            continue
        try:
            cgroup = Path(f"/proc/{process.info['pid']}/cgroup").read_text()
        except OSError:
            continue
        if any(cid in cgroup for cid in containers):
            found.append(f"{process.info['pid']} {process.info['name']}")
    return found


class PeakMemory:
    """Samples the RSS of a process (the grader) and of its whole tree (with its pytest children)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.grader = 0
        self.tree = 0
        self.owners = {pid}  # the grader and every child seen: the owners its containers are labelled with
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                own = root.memory_info().rss
                tree = own
                for child in root.children(recursive=True):
                    self.owners.add(child.pid)
                    try:
                        tree += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.grader, self.tree = max(self.grader, own), max(self.tree, tree)
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def docker_client(docker_ready):
    client = docker.from_env(timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def victim(docker_client) -> str:
    """Another grading's server (the reference UDP server, on a network of its own): a target to probe.

    Started by this test, not through the grader's sandbox, whose containers have loopback
    only (DESIGN.md, "Trust boundary"): a neighbour would then have no address to aim at,
    and a probe that fails would prove nothing. It carries the grader's labels, so a
    start-up sweep removes it once this test's process is gone.
    """
    labels = {LABEL: "1", "socketlab.owner": f"{socket.gethostname()}:{os.getpid()}", "socketlab.role": "victim"}
    network = docker_client.networks.create(f"socketlab-victim-{os.getpid()}", driver="bridge", labels=labels)
    container = None
    try:
        container = docker_client.containers.run(
            IMAGE,
            ["python3", "-u", "/reference/udp_server.py"],
            detach=True,
            labels=labels,
            network=network.name,
            volumes={str(ROOT / "reference"): {"bind": "/reference", "mode": "ro"}},
            user=f"{STUDENT_UID}:{STUDENT_UID}",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            pids_limit=16,
            mem_limit="64m",
        )
        container.reload()
        host = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        _assert_answers((host, 12000))  # reachable from the host, so a probe that fails met isolation
        yield host
    finally:
        if container is not None:
            container.remove(force=True)
        network.remove()


def _assert_answers(target: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        for _ in range(50):
            sock.sendto(b"ping", target)
            try:
                if sock.recvfrom(64)[0] == b"PING":
                    return
            except OSError:
                time.sleep(0.1)
    raise AssertionError(f"the victim server at {target} never answered the host")


@pytest.fixture(scope="module")
def expected() -> list[Expected]:
    return [read_expected(path) for path in CORPUS]


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory, expected, victim) -> Path:
    """One student per hostile program, under its role's textbook file name, and the reference."""
    root = tmp_path_factory.mktemp("class")
    for verdict, path in zip(expected, CORPUS, strict=True):
        folder = root / verdict.program
        folder.mkdir()
        shutil.copy(path, folder / verdict.file_name)
        (folder / "targets.txt").write_text(victim + "\n")
    shutil.copytree(ROOT / "reference", root / "reference", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _owned(labels: dict, owners: set[int]) -> bool:
    """Labelled by one of `owners` (other gradings may run on this machine at the same time)."""
    pid = (labels or {}).get("socketlab.owner", ":").partition(":")[2]
    return pid.isdigit() and int(pid) in owners


def _left_behind(client: docker.DockerClient, owners: set[int]) -> list[str]:
    containers = [
        c["Names"][0]
        for c in client.api.containers(all=True, filters={"label": LABEL})
        if _owned(c.get("Labels"), owners)
    ]
    networks = [n["Name"] for n in client.api.networks(filters={"label": LABEL}) if _owned(n.get("Labels"), owners)]
    volumes = [
        v["Name"]
        for v in client.api.volumes(filters={"label": LABEL}).get("Volumes") or []
        if _owned(v.get("Labels"), owners)
    ]
    return containers + networks + volumes


def _container_events(client: docker.DockerClient, since: float, until: float, owners: set[int]) -> list[dict]:
    events = client.events(
        since=int(since), until=int(until) + 1, decode=True, filters={"type": "container", "label": LABEL}
    )
    return [e for e in events if e["timeNano"] / 1e9 >= since and _owned(e["Actor"]["Attributes"], owners)]


def _limit_to_gone(events: list[dict]) -> tuple[float, str]:
    """Worst seconds from a container's first oom/die/kill event to its destroy event, and which."""
    first_end: dict[str, tuple[float, str]] = {}
    destroyed: dict[str, float] = {}
    for event in events:
        at = event["timeNano"] / 1e9
        cid, action = event["id"], event["Action"]
        if action in ("oom", "die", "kill") and cid not in first_end:
            attributes = event["Actor"]["Attributes"]
            first_end[cid] = (at, f"{attributes.get('socketlab.role', '?')} {action}")
        elif action == "destroy":
            destroyed[cid] = at
    gaps = [(destroyed[cid] - at, what) for cid, (at, what) in first_end.items() if cid in destroyed]
    return max(gaps, default=(0.0, "none"))


@pytest.mark.parametrize("round_no", range(1, ROUNDS + 1))
def test_every_hostile_program_gets_its_verdict_beside_a_reference_that_keeps_full_marks(
    round_no, hostile_class, expected, victim, docker_client, tmp_path, capsys
):
    before = MachineState.now()
    started = time.time()
    out = tmp_path / "reports"
    process = subprocess.Popen(
        [str(GRADER), "grade", str(hostile_class), "--out", str(out), "--jobs", "4", "--sandbox", "docker"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    memory = PeakMemory(process.pid)
    output, _ = process.communicate(timeout=1200)
    memory.stop()
    took = time.time() - started
    assert process.returncode == 0, output

    reports = {r.student: r for r in map(junit.report, junit.read_suites(out / "gradebook.xml"))}
    problems: list[str] = []
    for verdict in expected:
        report = reports.get(verdict.program)
        if report is None or report.grader_error is not None:
            problems.append(f"{verdict.program}: no grading ({report and report.grader_error})")
            continue
        checks = {c.check_id: (c.status, c.summary) for c in report.checks}
        own = [c for c in report.failures if c.check_id.startswith(f"{verdict.role.value}.")]
        causes = {cause.key for cause in root_causes(own)}
        problems += [f"{verdict.program}: {p}" for p in mismatches(verdict, report.score, causes, checks)]
        problems += [
            f"{verdict.program}: {c.check_id} could not be run: {c.summary}"
            for c in report.checks
            if c.status == "error"
        ]
        problems += [
            f"{verdict.program}: {c.check_id} report is {len(format_result(c))} characters"
            for c in report.checks
            if len(format_result(c)) > MAX_CHECK_TEXT
        ]
    reference = reports["reference"]
    if reference.score != reference.max_score:
        problems.append(
            f"reference: {reference.score:g}/{reference.max_score:g}: "
            + "; ".join(f"{c.check_id}: {c.summary}" for c in reference.failures)
        )
    assert not problems, "\n".join(problems)

    finished = time.time()
    assert _left_behind(docker_client, memory.owners) == []
    events = _container_events(docker_client, started, finished, memory.owners)
    assert _student_processes_in({e["id"] for e in events}) == [], "student processes outlived their containers"
    after = MachineState.now()
    assert after.processes <= before.processes + PROCESS_SLACK
    assert after.available_memory >= before.available_memory - MEMORY_SLACK
    assert _scratch_left(memory.owners) == []
    assert _disk_used(out) <= MAX_REPORTS
    untouched = {p.name for p in hostile_class.rglob("*") if p.is_file()}
    assert not {"junit.xml", "results.json", "gradebook.csv"} & untouched, "a fake report landed in a submission"

    gap, what = _limit_to_gone(events)
    with capsys.disabled():  # the figures belong in every run's log, not only in a failure's
        print()
        print(
            f"round {round_no}: {len(expected)} hostile programs and the reference in {took:.1f} s; "
            f"grader peak RSS {memory.grader / 2**20:.0f} MiB "
            f"(with its pytest children {memory.tree / 2**20:.0f} MiB); "
            f"worst limit-to-gone {gap:.2f} s ({what})"
        )
