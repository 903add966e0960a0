"""devstack's replicas: the port rule and what each process is told (no processes started)."""

from __future__ import annotations

import itertools

import pytest

from devstack.stack import MAX_REPLICAS, SERVICES, StackConfig, parse_process_name


def ports(config: StackConfig) -> list[int]:
    return [p for s in SERVICES for i in range(config.replica_count(s))
            for p in (config.port(s, i), config.internal_port(s, i))]


def test_replica_i_listens_on_the_ports_plus_20_i_and_the_gateway_is_one() -> None:
    config = StackConfig(replicas=3)
    assert config.urls("identity") == ["http://127.0.0.1:8101", "http://127.0.0.1:8121",
                                       "http://127.0.0.1:8141"]
    assert config.internal_urls("identity") == ["http://127.0.0.1:9101", "http://127.0.0.1:9121",
                                                "http://127.0.0.1:9141"]
    assert config.urls("gateway") == ["http://127.0.0.1:8080"]
    assert config.process_names()[:3] == ("identity", "identity.1", "identity.2")
    assert len(config.process_names()) == 6 * 3 + 1
    assert parse_process_name("seals.2") == ("seals", 2) and parse_process_name("seals") == ("seals", 0)


@pytest.mark.parametrize("internal_offset", [1000, 10])
def test_no_two_listeners_share_a_port_up_to_the_most_replicas(internal_offset: int) -> None:
    config = StackConfig(replicas=MAX_REPLICAS, internal_port_offset=internal_offset)
    assert len(set(ports(config))) == len(ports(config))


def test_test_platforms_at_offsets_100_apart_never_collide_whatever_their_replicas() -> None:
    """tests/conftest.py: internal = public + 10, offsets in multiples of 100."""
    runs = [StackConfig(replicas=r, port_offset=o * 100, internal_port_offset=10)
            for r, o in itertools.product((1, 2, MAX_REPLICAS), (20, 21, 22))]
    for a, b in itertools.combinations(runs, 2):
        if a.port_offset != b.port_offset:
            assert not set(ports(a)) & set(ports(b)), (a, b)
    for run in runs:  # why: every port of a run has its own remainder mod 100
        assert len({p % 100 for p in ports(run)}) == len(ports(run))


def test_every_process_is_told_its_own_ports_and_every_replica_of_the_others() -> None:
    config = StackConfig(replicas=2, port_offset=300)
    env = config.environment("seals.1")
    assert (env["ESEAL_PORT"], env["ESEAL_INTERNAL_PORT"]) == ("8424", "9424")
    assert env["ESEAL_CERTS_URL"] == "http://127.0.0.1:8403,http://127.0.0.1:8423"
    assert env["ESEAL_CERTS_INTERNAL_URL"] == "http://127.0.0.1:9403,http://127.0.0.1:9423"
    assert env["ESEAL_GATEWAY_URL"] == "http://127.0.0.1:8380"


def test_replicas_are_bounded() -> None:
    with pytest.raises(ValueError):
        StackConfig(replicas=0)
    with pytest.raises(ValueError):
        StackConfig(replicas=MAX_REPLICAS + 1)


class _Sleeper:
    """What Stack.start is given instead of subprocess.Popen: a process that is running."""

    started: list[str] = []

    def __init__(self, args: list[str], **_: object) -> None:
        self.args, self.pid, self.returncode = args, 4242, None
        _Sleeper.started.append(args[-1])

    def poll(self) -> int | None:
        return self.returncode


def test_start_with_no_names_starts_nothing_and_a_running_process_is_not_started_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """start(()) once meant "everything": a second platform whose processes could not bind
    replaced the live ones in Stack.processes, and stop() left the live ones running."""
    from devstack import stack as stack_module

    monkeypatch.setattr(stack_module.subprocess, "Popen", _Sleeper)
    _Sleeper.started = []
    s = stack_module.Stack(StackConfig(log_dir=None))
    s.start(("notify",))
    s.start(())
    assert _Sleeper.started == ["notify"]
    with pytest.raises(RuntimeError, match="notify is already running"):
        s.start(("notify",))
    s.processes["notify"].returncode = 0  # type: ignore[attr-defined]  # it exited: may start again
    s.start(("notify",))
    assert _Sleeper.started == ["notify", "notify"]
