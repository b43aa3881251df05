"""A client's exit is seen from the kernel, however slowly a swamped engine answers.

The fake container stands for one on a Docker engine too busy to answer a wait in less
than LAG seconds; the program is a real process of this machine, which ends at once.
"""

from __future__ import annotations

import subprocess
import time

import requests

from grader.sandbox.docker import _await_client
from grader.sandbox.usage import CgroupUsage

LAG = 0.5  # seconds the engine needs to answer a wait


class SwampedEngineContainer:
    def __init__(self, process: subprocess.Popen):
        self._process = process
        self.attrs = {"State": {"Pid": process.pid, "OOMKilled": False}}

    def reload(self) -> None:
        pass

    def wait(self, timeout: float) -> dict:
        if timeout < LAG:
            time.sleep(timeout)
            raise requests.exceptions.ReadTimeout("the engine did not answer in time")
        return {"StatusCode": self._process.wait(timeout=timeout)}


def test_a_client_that_exits_in_time_is_seen_to_exit_even_when_the_engine_answers_slowly():
    process = subprocess.Popen(["sleep", "0.2"])
    assert CgroupUsage.of(process.pid) is not None, "this machine's cgroups cannot be read"
    try:
        ended, _ = _await_client(SwampedEngineContainer(process), 3.0, lambda: None)
    finally:
        process.kill()
        process.wait()
    assert ended is not None and not isinstance(ended, str) and ended.code == 0
