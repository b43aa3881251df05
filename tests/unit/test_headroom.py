"""A class run starts a new grading only while the machine has room for it; the first one always runs."""

from __future__ import annotations

import threading

import pytest

from grader.headroom import HeadroomRule, Pressure, Throttle, read_pressure

QUIET = Pressure(cpu=5.0, io=1.0, load_per_cpu=0.3)
BUSY = Pressure(cpu=90.0, io=1.0, load_per_cpu=3.0)


@pytest.mark.parametrize(
    ("pressure", "room"),
    [
        (QUIET, True),
        (BUSY, False),
        (Pressure(cpu=10.0, io=75.0, load_per_cpu=0.5), False),
        (Pressure(cpu=None, io=None, load_per_cpu=1.5), True),
        (Pressure(cpu=None, io=None, load_per_cpu=2.5), False),
    ],
    ids=["quiet", "cpu pressure", "io pressure", "no psi, light load", "no psi, heavy load"],
)
def test_the_rule_reads_pressure_where_the_kernel_has_it_and_the_load_otherwise(pressure, room):
    assert HeadroomRule().has_headroom(pressure) is room


def test_pressure_files_are_read_as_the_kernel_writes_them(tmp_path):
    (tmp_path / "cpu").write_text(
        "some avg10=42.50 avg60=10.00 avg300=3.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    )
    (tmp_path / "io").write_text("some avg10=7.25 avg60=1.00 avg300=0.50 total=9\n")
    pressure = read_pressure(tmp_path)
    assert (pressure.cpu, pressure.io) == (42.5, 7.25)


def test_a_kernel_without_pressure_files_leaves_the_load_average_to_decide(tmp_path):
    assert read_pressure(tmp_path).cpu is None


def test_the_first_grading_always_runs_however_busy_the_machine():
    throttle = Throttle(HeadroomRule(max_wait=5), read=lambda: BUSY, poll=0.01)
    with throttle.slot(threading.Event()):
        pass
    assert throttle.held == 0 and throttle.describe() is None


def test_a_second_grading_waits_while_the_machine_is_busy_and_starts_when_it_is_quiet():
    readings = iter([BUSY, BUSY, BUSY, QUIET])
    throttle = Throttle(HeadroomRule(max_wait=30), read=lambda: next(readings, QUIET), poll=0.01)
    with throttle.slot(threading.Event()):
        with throttle.slot(threading.Event()):
            pass
    assert throttle.held == 1 and throttle.waited > 0
    assert "1 grading(s) waited" in throttle.describe() and "CPU pressure 90 %" in throttle.describe()


def test_under_pressure_half_of_the_jobs_still_run_at_once_and_the_next_one_waits():
    throttle = Throttle(HeadroomRule(max_wait=0.05), jobs=4, read=lambda: BUSY, poll=0.01)
    with throttle.slot(threading.Event()), throttle.slot(threading.Event()):
        assert throttle.held == 0  # two of four run at once, however busy the machine
        with throttle.slot(threading.Event()):
            assert throttle.held == 1


def test_no_grading_waits_longer_than_the_longest_wait():
    throttle = Throttle(HeadroomRule(max_wait=0.05), read=lambda: BUSY, poll=0.01)
    with throttle.slot(threading.Event()), throttle.slot(threading.Event()):
        pass
    assert throttle.held == 1 and throttle.waited < 1.0


def test_a_cancelled_run_does_not_wait_for_headroom():
    cancel = threading.Event()
    cancel.set()
    throttle = Throttle(HeadroomRule(max_wait=60), read=lambda: BUSY, poll=0.01)
    with throttle.slot(threading.Event()), throttle.slot(cancel):
        pass
    assert throttle.waited < 1.0
