"""When a starting server counts as started: a rule on what the program did, tested on made-up looks."""

from __future__ import annotations

import pytest

from grader.sandbox.usage import Usage
from grader.startup import Decision, StartupLimits, StartupWatch

LIMITS = StartupLimits(cpu=5.0, wall=20.0, settle_cpu=0.5)


def watch() -> StartupWatch:
    return StartupWatch(LIMITS)


def test_a_server_that_binds_and_then_waits_for_input_is_started_after_two_idle_looks():
    w = watch()
    assert w.observe(0.05, Usage(0.04, busy=False), bound=True) is Decision.WAIT
    assert w.observe(0.07, Usage(0.04, busy=False), bound=True) is Decision.STARTED


def test_a_busy_machine_that_keeps_a_correct_server_off_the_cpu_does_not_fail_it():
    w = watch()
    # 15 s on the clock, 0.03 s of its own CPU: it waited for a CPU, not for itself.
    assert w.observe(15.0, Usage(0.03, busy=True), bound=False) is Decision.WAIT
    assert w.observe(15.1, Usage(0.05, busy=False), bound=True) is Decision.WAIT
    assert w.observe(15.2, Usage(0.05, busy=False), bound=True) is Decision.STARTED


def test_a_server_that_binds_then_stays_busy_is_started_once_it_used_the_settling_cpu():
    w = watch()
    assert w.observe(0.1, Usage(0.1, busy=True), bound=True) is Decision.WAIT
    assert w.observe(0.4, Usage(0.5, busy=True), bound=True) is Decision.WAIT
    assert w.observe(0.6, Usage(0.6, busy=True), bound=True) is Decision.STARTED


def test_a_busy_server_is_not_started_by_a_single_idle_look_between_two_busy_ones():
    w = watch()
    assert w.observe(0.1, Usage(0.1, busy=True), bound=True) is Decision.WAIT
    assert w.observe(0.12, Usage(0.1, busy=False), bound=True) is Decision.WAIT
    assert w.observe(0.14, Usage(0.12, busy=True), bound=True) is Decision.WAIT
    assert w.observe(0.16, Usage(0.13, busy=False), bound=True) is Decision.WAIT


def test_cpu_spent_before_the_bind_does_not_count_towards_settling():
    w = watch()
    assert w.observe(3.0, Usage(2.9, busy=True), bound=False) is Decision.WAIT
    assert w.observe(3.1, Usage(3.0, busy=True), bound=True) is Decision.WAIT
    assert w.observe(3.3, Usage(3.2, busy=True), bound=True) is Decision.WAIT


def test_a_program_that_computes_its_cpu_allowance_away_without_binding_is_too_slow():
    assert watch().observe(5.2, Usage(5.0, busy=True), bound=False) is Decision.CPU_LIMIT


def test_a_program_that_sleeps_instead_of_binding_meets_the_clocks_ceiling():
    w = watch()
    assert w.observe(19.9, Usage(0.04, busy=False), bound=False) is Decision.WAIT
    assert w.observe(20.0, Usage(0.04, busy=False), bound=False) is Decision.WALL_LIMIT


def test_a_bound_server_kept_busy_past_the_clocks_ceiling_counts_as_started():
    w = watch()
    assert w.observe(19.0, Usage(0.1, busy=True), bound=True) is Decision.WAIT
    assert w.observe(20.0, Usage(0.2, busy=True), bound=True) is Decision.STARTED


@pytest.mark.parametrize(("elapsed", "decision"), [(4.9, Decision.WAIT), (5.0, Decision.WALL_LIMIT)])
def test_without_usage_the_clock_decides_at_the_cpu_limit(elapsed, decision):
    assert watch().observe(elapsed, None, bound=False) is decision


def test_without_usage_a_bound_server_is_started_once_it_stayed_alive_a_moment():
    w = watch()
    assert w.observe(1.0, None, bound=True) is Decision.WAIT
    assert w.observe(1.1, None, bound=True) is Decision.WAIT
    assert w.observe(1.25, None, bound=True) is Decision.STARTED


def test_the_watch_remembers_whether_it_saw_a_bind_and_how_much_cpu_was_used():
    w = watch()
    w.observe(0.1, Usage(0.2, busy=True), bound=False)
    assert not w.bound and w.cpu_used == 0.2
    w.observe(0.2, Usage(0.3, busy=True), bound=True)
    assert w.bound and w.cpu_used == 0.3


def test_the_clocks_ceiling_is_four_times_the_cpu_limit():
    assert StartupLimits.for_startup(5.0) == StartupLimits(cpu=5.0, wall=20.0)
