"""The registry of scenario kinds an assignment spec can use: one module each, one line here."""

from __future__ import annotations

from grader.scenarios import client_exchange, listening, tcp_exchange, tcp_two_requests, udp_exchange
from grader.scenarios.kind import Kind

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        listening.KIND,
        udp_exchange.KIND,
        tcp_exchange.KIND,
        tcp_two_requests.KIND,
        client_exchange.KIND,
    )
}
