"""Which checks of a submission share a lane: the engine's one decision about order, tested without a sandbox."""

from __future__ import annotations

from grader.engine import lanes
from grader.model import CheckSpec, Role
from grader.scenarios.client_exchange import ClientParams
from grader.scenarios.listening import ListeningParams
from grader.scenarios.udp_exchange import UdpExchangeParams

ALL_ROLES = set(Role)


def server_check(name: str, role: Role = Role.UDP_SERVER) -> CheckSpec:
    kind, params = ("listening", ListeningParams()) if name == "listening" else ("udp_exchange", UdpExchangeParams())
    return CheckSpec(f"{role.value}.{name}", role, kind, 1.0, True, params=params)


def client_check(name: str, behaviour: str, role: Role = Role.UDP_CLIENT) -> CheckSpec:
    return CheckSpec(
        f"{role.value}.{name}",
        role,
        "client_exchange",
        1.0,
        True,
        params=ClientParams(behaviour=behaviour, expect=name),
    )


def ids(grouped: list[list[CheckSpec]]) -> list[list[str]]:
    return [[check.id for check in lane] for lane in grouped]


def test_the_checks_of_a_server_role_share_one_lane_in_their_order():
    checks = [server_check("listening"), server_check("basic"), server_check("burst")]
    assert ids(lanes(checks, ALL_ROLES)) == [["udp_server.listening", "udp_server.basic", "udp_server.burst"]]


def test_each_server_role_has_a_lane_of_its_own():
    checks = [server_check("basic"), server_check("basic", Role.TCP_SERVER), server_check("listening")]
    assert ids(lanes(checks, ALL_ROLES)) == [["udp_server.basic", "udp_server.listening"], ["tcp_server.basic"]]


def test_client_checks_that_judge_one_run_share_a_lane_and_other_runs_get_their_own():
    checks = [
        client_check("sends_line", "normal"),
        client_check("exits", "silent"),
        client_check("prints_reply", "normal"),
    ]
    assert ids(lanes(checks, ALL_ROLES)) == [["udp_client.sends_line", "udp_client.prints_reply"], ["udp_client.exits"]]


def test_the_checks_of_a_role_the_submission_lacks_are_one_lane():
    checks = [client_check("sends_line", "normal"), client_check("exits", "silent")]
    assert ids(lanes(checks, {Role.UDP_SERVER})) == [["udp_client.sends_line", "udp_client.exits"]]


def test_the_runs_of_a_client_role_are_dealt_in_turn_to_as_many_lanes_as_may_run_at_once():
    checks = [
        client_check("sends_line", "normal"),
        client_check("exits", "silent"),
        client_check("prints_reply", "normal"),
        client_check("exits_within_budget", "drop_first"),
        client_check("sends_line", "normal", Role.TCP_CLIENT),
    ]
    assert ids(lanes(checks, ALL_ROLES, runs_at_once=2)) == [
        ["udp_client.sends_line", "udp_client.prints_reply", "udp_client.exits_within_budget"],
        ["udp_client.exits"],
        ["tcp_client.sends_line"],
    ]


def test_with_one_run_at_once_a_client_role_is_one_lane_in_the_order_of_its_runs():
    checks = [
        client_check("sends_line", "normal"),
        client_check("exits", "silent"),
        client_check("prints_reply_once", "normal"),
    ]
    assert ids(lanes(checks, ALL_ROLES, runs_at_once=1)) == [
        ["udp_client.sends_line", "udp_client.prints_reply_once", "udp_client.exits"]
    ]
