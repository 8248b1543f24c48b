"""Services get ports nobody else is handed, and a port taken before the service binds it is
chosen again rather than failing the service (the OpenServerless mock's port collisions)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import needs_redis

from streamwhisk.errors import ServiceUnavailable
from streamwhisk.services.base import PORTS_FROM, Address, Owner, free_port, start
from streamwhisk.services.redis import Redis


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port someone listens on (as another program grabbing it would)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        yield int(holder.getsockname()[1])


class RedisWhoseFirstPortIsTaken(Redis):
    """Redis whose first command is given a port someone holds, as when another program
    binds it between its choice and Redis's start; later commands get the address's."""

    def __init__(self, taken: int) -> None:
        self.ports = [taken]

    def command(self, address: Address) -> list[str]:
        port = self.ports.pop() if self.ports else address.port
        return super().command(Address(address.host, port, address.data, address.secret))


def ping(address: Address) -> bytes:
    """AUTH and PING in Redis's inline protocol; its two answers."""
    with socket.create_connection((address.host, address.port), timeout=10) as client:
        client.sendall(f"AUTH {address.secret}\r\nPING\r\n".encode())
        answer = b""
        while answer.count(b"\r\n") < 2:
            answer += client.recv(100)
        return answer


def test_free_ports_are_below_the_kernels_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    if low < PORTS_FROM + 1000:
        pytest.skip(f"this machine's ephemeral ports start at {low}: no room below them")
    ports = {free_port() for _ in range(50)}
    assert all(1024 < port < low for port in ports), ports
    assert len(ports) > 40  # chosen at random, not one after another from a shared start


@needs_redis
def test_a_service_whose_port_is_taken_at_start_is_started_again_on_a_new_one(
        tmp_path: Path, taken_port: int) -> None:
    service = RedisWhoseFirstPortIsTaken(taken_port)
    address = Address("127.0.0.1", free_port(), tmp_path / "redis", "s3cret")
    running = start(service, address, Owner.claim(address.data, "redis"))
    try:
        assert ping(address) == b"+OK\r\n+PONG\r\n"
        assert "Address already in use" in running.log.read_text()
    finally:
        running.stop()


@needs_redis
def test_a_published_port_that_stays_taken_is_a_clear_error_naming_it(
        tmp_path: Path, taken_port: int) -> None:
    address = Address("127.0.0.1", taken_port, tmp_path / "redis", "s3cret")
    with pytest.raises(ServiceUnavailable) as failed:
        start(Redis(), address, Owner.claim(address.data, "redis"))
    assert "redis could not listen" in str(failed.value)
    assert str(taken_port) in str(failed.value)
    assert "s3cret" not in str(failed.value)
