"""The stand-in internet host's addresses are the run's own (standin.py): two at once — two runs, or
two runs whose tags pick the same block — get different addresses, each answers the host with its
own greeting, and tearing one down leaves the others' routes alone. (Before, every run used
198.18.0.1 and one host route: the second `ip route add` failed, and the first run's teardown deleted
whichever run's route was there.)"""

from __future__ import annotations

import ipaddress

from hostcheck import RUN_TAG
from standin import GREETING, POOL, host_reaches, internet_standin


def test_two_standins_at_once_do_not_collide() -> None:
    other_run = RUN_TAG + "x"  # another run's tag
    with internet_standin() as (a, port):
        assert host_reaches(a, port) == GREETING  # positive control: the host reaches the first
        # A second run whose tag picks the same block: it takes the next free one.
        with internet_standin(seed=RUN_TAG, role="inet2", letter="j", greeting=b"second\n") as (b, _):
            with internet_standin(seed=other_run, role="inet3", letter="k", greeting=b"third\n") as (c, _):
                assert len({a, b, c}) == 3, (a, b, c)
                assert all(ipaddress.ip_address(x) in POOL for x in (a, b, c)), (a, b, c)
                assert [host_reaches(x) for x in (a, b, c)] == [GREETING, b"second\n", b"third\n"]
            # The third's teardown removed its route only.
            assert [host_reaches(x) for x in (a, b)] == [GREETING, b"second\n"]
        assert host_reaches(a) == GREETING
