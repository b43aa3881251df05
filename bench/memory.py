"""Peak memory of a running `grader grade`: its own process, and its whole process tree.

Sampled with psutil every 0.2 s from a thread of the bench. Two figures:

- parent: the `grader grade` process alone, which schedules the gradings and collects
  every report.
- tree: the parent plus every process under it, chiefly one pytest process per submission
  being graded. This is "the grader" the memory target is about: every one of those
  processes runs the grader's code. Student programs run in containers, children of
  dockerd, and are not counted.

RSS counts the pages that processes share (the interpreter, the libraries) once per
process, so the tree's sum is an upper bound of what the machine pays. The sampler also
keeps the PID of every process it saw in the tree, which tells the grader's containers
from those of anything else running on the machine (their owner label holds that PID).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Self

import psutil

MIB = 1 << 20
INTERVAL = 0.2  # seconds between samples
MAX_SAMPLES = 50_000  # about 2.8 hours of sampling; a bench never grades that long


@dataclass(frozen=True)
class MemoryPeak:
    parent_mib: float
    tree_mib: float
    tree_processes: int  # processes in the tree when it peaked
    samples: int


class MemorySampler:
    """Samples `pid` and its descendants until stopped or until the process is gone."""

    def __init__(self, pid: int):
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._parent_peak = 0
        self._tree_peak = 0
        self._tree_processes = 0
        self._samples = 0
        self._pids: set[int] = {pid}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self) -> MemoryPeak:
        return MemoryPeak(self._parent_peak / MIB, self._tree_peak / MIB, self._tree_processes, self._samples)

    def pids_seen(self) -> frozenset[int]:
        return frozenset(self._pids)

    def _run(self) -> None:
        while self._samples < MAX_SAMPLES and not self._stop.is_set():
            try:
                self._sample()
            except psutil.NoSuchProcess:
                return  # the grading is over
            self._stop.wait(INTERVAL)

    def _sample(self) -> None:
        parent = self._process.memory_info().rss
        tree, processes = parent, 1
        for child in self._process.children(recursive=True):
            self._pids.add(child.pid)
            try:
                tree += child.memory_info().rss
                processes += 1
            except psutil.NoSuchProcess:
                pass  # a submission's pytest process that ended between listing and reading
        self._samples += 1
        self._parent_peak = max(self._parent_peak, parent)
        if tree > self._tree_peak:
            self._tree_peak, self._tree_processes = tree, processes
