"""Unit tests for the pure impairment schedules: no sockets, no clock."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.impair import (
    Action,
    DatagramPipe,
    DatagramProfile,
    DatagramSchedule,
    Emission,
    Ending,
    Fate,
    StreamPlan,
    Write,
    slice_stream,
)

REPO = Path(__file__).resolve().parents[2]


def fate(profile: DatagramProfile, seed: int, message: int, attempt: int) -> Fate:
    return DatagramSchedule(profile, seed).fate(message, attempt)


def preview(schedule: DatagramSchedule, messages: int, attempts: int = 1) -> tuple[Fate, ...]:
    """The fates of the first `attempts` sends of each of the first `messages` messages."""
    return tuple(schedule.fate(m, a) for m in range(messages) for a in range(attempts))


def release_order(fates) -> list[Emission]:
    """Wire order of a whole sequence of sends: push each, then flush."""
    pipe = DatagramPipe()
    return [e for f in fates for e in pipe.push(f)] + pipe.flush()


LOSSY = DatagramProfile(drop=0.3, duplicate=0.1, delay=0.1, reorder=0.1)

probabilities = st.floats(min_value=0.0, max_value=0.25)
profiles = st.builds(
    DatagramProfile,
    drop=probabilities,
    duplicate=probabilities,
    delay=probabilities,
    reorder=probabilities,
    max_impairments_per_datagram=st.integers(min_value=0, max_value=3),
)
seeds = st.integers(min_value=-(2**63), max_value=2**63)


def sends(*actions: Action) -> list[Fate]:
    """Message i, first attempt, with the i-th action (DELAY gets 100 ms)."""
    return [Fate(i, 0, a, 0.1 if a is Action.DELAY else 0.0) for i, a in enumerate(actions)]


def wire(emissions: list[Emission]) -> list[int]:
    return [e.message for e in emissions]


# --------------------------------------------------------------------- profiles


@pytest.mark.parametrize("field", ["drop", "duplicate", "delay", "reorder"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_probability_outside_0_to_1_is_rejected_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        DatagramProfile(**{field: value})


def test_probabilities_adding_up_to_more_than_1_are_rejected():
    with pytest.raises(ValueError, match="at most 1"):
        DatagramProfile(drop=0.6, duplicate=0.5)


def test_probabilities_adding_up_to_exactly_1_are_accepted():
    DatagramProfile(drop=0.1, duplicate=0.2, delay=0.3, reorder=0.4)


@pytest.mark.parametrize("delay_range", [(-0.1, 0.2), (0.3, 0.2), (0.0, float("inf"))])
def test_a_bad_delay_range_is_rejected_naming_the_field(delay_range):
    with pytest.raises(ValueError, match="delay_range"):
        DatagramProfile(delay=0.1, delay_range=delay_range)


def test_a_negative_impairment_cap_is_rejected_naming_the_field():
    with pytest.raises(ValueError, match="max_impairments_per_datagram"):
        DatagramProfile(max_impairments_per_datagram=-1)


def test_a_profile_prints_its_nonzero_probabilities():
    assert str(DatagramProfile(drop=0.3, duplicate=0.1)) == "drop 30%, duplicate 10%"


def test_the_none_profile_prints_as_no_impairment():
    assert str(DatagramProfile.NONE) == "no impairment"


# --------------------------------------------------------------------- fates


def test_a_fate_prints_message_attempt_and_action():
    assert str(Fate(3, 1, Action.DROP)) == "msg 3 try 1: drop"


def test_a_delayed_fate_prints_its_delay_in_milliseconds():
    assert str(Fate(0, 0, Action.DELAY, 0.12)) == "msg 0 try 0: delay 120 ms"


def test_a_delay_on_a_fate_that_is_not_delay_is_rejected():
    with pytest.raises(ValueError, match="delay"):
        Fate(0, 0, Action.DROP, 0.1)


@given(seed=seeds, message=st.integers(0, 1000), attempt=st.integers(0, 5))
def test_the_same_seed_gives_the_same_fate(seed, message, attempt):
    assert fate(LOSSY, seed, message, attempt) == fate(LOSSY, seed, message, attempt)


def test_a_fate_does_not_depend_on_the_order_sends_are_asked_about():
    schedule = DatagramSchedule(LOSSY, seed=7)
    forward = {(f.message, f.attempt): f for f in preview(schedule, 50, 3)}
    backward = {(m, a): schedule.fate(m, a) for m in reversed(range(50)) for a in (2, 1, 0)}
    assert forward == backward


def test_different_seeds_differ_somewhere_over_200_messages():
    first = preview(DatagramSchedule(LOSSY, seed=1), 200)
    second = preview(DatagramSchedule(LOSSY, seed=2), 200)
    assert first != second


def test_a_30_percent_drop_rate_drops_about_30_percent_of_2000_messages():
    fates = preview(DatagramSchedule(DatagramProfile(drop=0.3), seed=1234), 2000)
    dropped = sum(f.action is Action.DROP for f in fates)
    assert 0.25 <= dropped / len(fates) <= 0.35


def test_each_impairment_occurs_at_roughly_its_rate():
    fates = preview(DatagramSchedule(LOSSY, seed=99), 4000)
    counts = Counter(f.action for f in fates)
    for action, p in [
        (Action.DROP, 0.3),
        (Action.DUPLICATE, 0.1),
        (Action.DELAY, 0.1),
        (Action.HOLD, 0.1),
    ]:
        assert abs(counts[action] / len(fates) - p) < 0.03, action


@given(seed=seeds, message=st.integers(0, 10_000))
def test_delays_fall_within_the_profile_delay_range(seed, message):
    profile = DatagramProfile(delay=1.0, delay_range=(0.05, 0.25))
    f = fate(profile, seed, message, 0)
    assert f.action is Action.DELAY
    assert 0.05 <= f.delay <= 0.25


@given(profile=profiles, seed=seeds, message=st.integers(0, 10_000))
def test_a_message_is_never_impaired_more_than_the_cap_across_attempts(profile, seed, message):
    attempts = [fate(profile, seed, message, a) for a in range(8)]
    impaired = sum(f.action is not Action.DELIVER for f in attempts)
    assert impaired <= profile.max_impairments_per_datagram


def test_a_message_that_is_always_dropped_is_delivered_after_two_impairments():
    always_drop = DatagramProfile(drop=1.0)
    actions = [fate(always_drop, 5, 0, a).action for a in range(4)]
    assert actions == [Action.DROP, Action.DROP, Action.DELIVER, Action.DELIVER]


def test_fates_are_stable_across_processes_with_different_hash_seeds():
    code = (
        "from grader.impair import DatagramProfile, DatagramSchedule\n"
        "p = DatagramProfile(drop=0.3, duplicate=0.1, delay=0.1, reorder=0.1)\n"
        "s = DatagramSchedule(p, seed=42)\n"
        "print([str(s.fate(m, a)) for m in range(100) for a in range(3)])\n"
    )
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        outputs.add(result.stdout)
    here = str([str(f) for f in preview(DatagramSchedule(LOSSY, seed=42), 100, 3)])
    assert outputs == {here + "\n"}


# --------------------------------------------------------------------- schedules


def test_an_explicit_schedule_does_exactly_what_it_lists_and_delivers_the_rest():
    schedule = DatagramSchedule.explicit({(0, 0): Action.DROP, (2, 1): Action.DUPLICATE})
    assert schedule.fate(0, 0).action is Action.DROP
    assert schedule.fate(2, 1).action is Action.DUPLICATE
    assert schedule.fate(0, 1).action is Action.DELIVER
    assert schedule.fate(1, 0).action is Action.DELIVER


def test_an_explicit_delay_uses_the_given_delay():
    schedule = DatagramSchedule.explicit({(1, 0): Action.DELAY}, delay=0.4)
    assert schedule.fate(1, 0) == Fate(1, 0, Action.DELAY, 0.4)


def test_explicit_sends_override_the_profile_and_the_rest_follow_it():
    drop_all = DatagramProfile(drop=1.0)
    schedule = DatagramSchedule.explicit({(0, 0): Action.DELIVER}, profile=drop_all)
    assert schedule.fate(0, 0).action is Action.DELIVER
    assert schedule.fate(1, 0).action is Action.DROP


def test_explicit_impairments_count_towards_the_cap_of_later_attempts():
    schedule = DatagramSchedule.explicit(
        {(0, 0): Action.HOLD, (0, 1): Action.DUPLICATE},
        profile=DatagramProfile(drop=1.0),
    )
    assert schedule.fate(0, 2).action is Action.DELIVER


def test_a_schedule_without_overrides_agrees_with_the_fate_function():
    schedule = DatagramSchedule(LOSSY, seed=3)
    assert preview(schedule, 30, 3) == tuple(fate(LOSSY, 3, m, a) for m in range(30) for a in range(3))


def test_overrides_that_name_the_same_send_twice_are_rejected():
    with pytest.raises(ValueError, match="same send"):
        DatagramSchedule(overrides=(Fate(0, 0, Action.DROP), Fate(0, 0, Action.HOLD)))


# --------------------------------------------------------------------- the pipe


def test_a_delivered_datagram_is_emitted_once_at_once():
    assert release_order(sends(Action.DELIVER)) == [Emission(0, 0, 0.0)]


def test_a_dropped_datagram_emits_nothing():
    assert release_order(sends(Action.DELIVER, Action.DROP, Action.DELIVER)) == [
        Emission(0, 0),
        Emission(2, 0),
    ]


def test_a_duplicated_datagram_is_emitted_twice():
    assert wire(release_order(sends(Action.DUPLICATE))) == [0, 0]


def test_a_delayed_datagram_is_emitted_once_with_its_delay():
    assert release_order(sends(Action.DELAY)) == [Emission(0, 0, 0.1)]


def test_a_held_datagram_is_released_right_after_the_next_one_so_it_is_overtaken():
    pipe = DatagramPipe()
    first, second = sends(Action.HOLD, Action.DELIVER)
    assert pipe.push(first) == []
    assert wire(pipe.push(second)) == [1, 0]
    assert pipe.flush() == []


def test_a_held_datagram_waits_past_drops_for_the_next_emitted_one():
    order = release_order(sends(Action.HOLD, Action.DROP, Action.DELIVER))
    assert wire(order) == [2, 0]


def test_a_held_datagram_behind_a_delayed_one_gets_the_same_delay():
    order = release_order(sends(Action.HOLD, Action.DELAY))
    assert order == [Emission(1, 0, 0.1), Emission(0, 0, 0.1)]


def test_several_held_datagrams_are_released_together_in_order():
    order = release_order(sends(Action.HOLD, Action.HOLD, Action.DELIVER))
    assert wire(order) == [2, 0, 1]


def test_a_held_datagram_at_the_end_is_flushed():
    pipe = DatagramPipe()
    (only,) = sends(Action.HOLD)
    assert pipe.push(only) == []
    assert pipe.flush() == [Emission(0, 0)]
    assert pipe.flush() == []


@given(profile=profiles, seed=seeds)
def test_the_pipe_emits_every_send_that_is_not_dropped(profile, seed):
    fates = preview(DatagramSchedule(profile, seed), 40, 2)
    expected = Counter()
    for f in fates:
        copies = {Action.DROP: 0, Action.DUPLICATE: 2}.get(f.action, 1)
        expected[(f.message, f.attempt)] += copies
    emitted = Counter((e.message, e.attempt) for e in release_order(fates))
    assert emitted == +expected


# --------------------------------------------------------------------- TCP streams


@given(
    data=st.binary(max_size=200),
    pieces=st.integers(1, 50),
    seed=seeds,
)
def test_sliced_writes_concatenate_to_the_data(data, pieces, seed):
    writes = slice_stream(data, pieces, 0.05, seed)
    assert b"".join(w.data for w in writes) == data


@given(
    data=st.binary(max_size=200),
    pieces=st.integers(1, 50),
    seed=seeds,
)
def test_slicing_gives_the_asked_number_of_nonempty_pieces_or_one_per_byte(data, pieces, seed):
    writes = slice_stream(data, pieces, 0.05, seed)
    assert len(writes) == min(pieces, len(data))
    assert all(w.data for w in writes)


def test_only_the_first_slice_comes_without_a_pause():
    writes = slice_stream(b"HELLO WORLD", 3, 0.05, seed=1)
    assert [w.pause_before for w in writes] == [0.0, 0.05, 0.05]


def test_the_same_seed_slices_the_same_way_and_another_seed_differently():
    data = bytes(range(200))
    assert slice_stream(data, 5, 0.0, 1) == slice_stream(data, 5, 0.0, 1)
    assert slice_stream(data, 5, 0.0, 1) != slice_stream(data, 5, 0.0, 2)


def test_asking_for_zero_pieces_is_rejected():
    with pytest.raises(ValueError, match="pieces"):
        slice_stream(b"abc", 0, 0.05, seed=1)


def test_a_negative_pause_is_rejected():
    with pytest.raises(ValueError, match="pause_before"):
        Write(b"a", -1.0)


def test_a_plan_prints_its_write_sizes_pauses_and_ending():
    plan = StreamPlan(
        (Write(b"x" * 5), Write(b"y" * 12, 0.05), Write(b"z" * 4, 0.05)),
        Ending.HALF_CLOSE,
    )
    assert str(plan) == "3 writes (5+12+4 bytes, 50 ms pauses), then half close"


def test_a_plan_with_many_writes_prints_the_total_size():
    plan = StreamPlan(slice_stream(b"x" * 20, 20, 0.01, seed=1), Ending.RESET)
    assert str(plan) == "20 writes (20 bytes, 10 ms pauses), then reset"


def test_a_whole_plan_is_one_write_kept_open_with_nodelay():
    plan = StreamPlan.whole(b"hello")
    assert plan.writes == (Write(b"hello"),)
    assert plan.ending is Ending.KEEP_OPEN
    assert plan.nodelay
    assert str(plan) == "1 write (5 bytes), then keep open"


def test_a_plan_knows_the_bytes_it_sends():
    assert StreamPlan(slice_stream(b"hello world", 4, 0.0, 9)).data == b"hello world"


def test_a_plan_with_uneven_pauses_prints_their_range():
    plan = StreamPlan((Write(b"a"), Write(b"b", 0.01), Write(b"c", 0.2)))
    assert str(plan) == "3 writes (1+1+1 bytes, pauses 10 ms to 200 ms), then keep open"


def test_a_plan_that_waits_before_its_first_write_says_so():
    plan = StreamPlan((Write(b"hi", 0.5),), Ending.HALF_CLOSE)
    assert str(plan) == "after 500 ms, 1 write (2 bytes), then half close"


def test_a_plan_without_writes_prints_only_its_ending():
    assert str(StreamPlan((), Ending.RESET)) == "no writes, then reset"
