"""The built-in scenario kinds an assignment spec can use, with their parameters."""

from __future__ import annotations

from dataclasses import dataclass

from grader.model import Role
from grader.scenarios.clients import ClientParams
from grader.scenarios.tcp_server import TcpExchangeParams
from grader.scenarios.udp_server import UdpExchangeParams
from grader.spec import Kind


@dataclass(frozen=True)
class ListeningParams:
    """No parameters: the check reads the program's bound sockets."""


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("listening", frozenset({Role.UDP_SERVER, Role.TCP_SERVER}), ListeningParams),
        Kind("udp_exchange", frozenset({Role.UDP_SERVER}), UdpExchangeParams),
        Kind("tcp_exchange", frozenset({Role.TCP_SERVER}), TcpExchangeParams),
        Kind("client_exchange", frozenset({Role.UDP_CLIENT, Role.TCP_CLIENT}), ClientParams),
    )
}
