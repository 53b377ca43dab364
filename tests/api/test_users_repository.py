"""The users repository on a controlled clock: session lifetimes and the login-failure window
at their boundaries (the HTTP tests cover the same rules end to end)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cartwatch.errors import Conflict, InvalidValue, NotFound
from cartwatch.registry.db import make_engine
from cartwatch.registry.users import Role, Users

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
IDLE = dt.timedelta(hours=12)
ABSOLUTE = dt.timedelta(hours=24)
WINDOW = dt.timedelta(minutes=5)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def users(tmp_path: Path, clock: Clock) -> Iterator[Users]:
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    repo = Users(engine, clock=clock, hasher=fast)
    repo.add_user("nurse.a", role="nurse", password="bedside-password")
    yield repo
    engine.dispose()


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.PHYSICIAN) and Role.PHYSICIAN.allows(Role.NURSE)
    assert Role.NURSE.allows(Role.VIEWER) and not Role.NURSE.allows(Role.PHYSICIAN)
    assert not Role.VIEWER.allows(Role.NURSE)


def test_idle_session_expires_just_after_the_idle_time(users: Users, clock: Clock) -> None:
    user = users.get_user("nurse.a")
    token, csrf = users.start_session(user.id)
    clock.now = T0 + IDLE
    info = users.session(token, idle=IDLE, absolute=ABSOLUTE)
    assert info is not None and info.csrf_token == csrf
    clock.now = T0 + IDLE + IDLE + dt.timedelta(seconds=1)
    assert users.session(token, idle=IDLE, absolute=ABSOLUTE) is None


def test_active_session_expires_at_its_absolute_lifetime(users: Users, clock: Clock) -> None:
    token, _ = users.start_session(users.get_user("nurse.a").id)
    step = dt.timedelta(hours=6)
    for i in range(1, 5):
        clock.now = T0 + i * step
        assert users.session(token, idle=IDLE, absolute=ABSOLUTE) is not None
    clock.now = T0 + ABSOLUTE + dt.timedelta(seconds=1)
    assert users.session(token, idle=IDLE, absolute=ABSOLUTE) is None
    clock.now = T0 + ABSOLUTE + dt.timedelta(hours=1)
    assert users.session(token, idle=IDLE, absolute=ABSOLUTE) is None


def _fail(users: Users, name: str = "nurse.a", ip: str = "10.0.0.1") -> None:
    users.record_login_attempt(username=name, client_ip=ip, succeeded=False)


def _wait(users: Users, name: str = "nurse.a", ip: str = "10.0.0.1") -> int | None:
    return users.login_retry_after(
        username=name,
        client_ip=ip,
        window=WINDOW,
        max_failures_per_user=5,
        max_failures_per_ip=20,
    )


def test_fifth_failure_blocks_until_the_first_leaves_the_window(users: Users, clock: Clock) -> None:
    for i in range(4):
        clock.now = T0 + dt.timedelta(seconds=10 * i)
        _fail(users)
        assert _wait(users) is None
    clock.now = T0 + dt.timedelta(seconds=40)
    _fail(users)
    wait = _wait(users)
    assert wait is not None and 255 <= wait <= 261  # first failure at T0 leaves at T0 + 300 s
    clock.now = T0 + WINDOW + dt.timedelta(seconds=1)
    assert _wait(users) is None


def test_a_success_clears_the_users_failures_but_not_the_addresss(
    users: Users, clock: Clock
) -> None:
    for _ in range(4):
        _fail(users)
    clock.now = T0 + dt.timedelta(seconds=1)
    users.record_login_attempt(username="nurse.a", client_ip="10.0.0.1", succeeded=True)
    clock.now = T0 + dt.timedelta(seconds=2)
    _fail(users)
    assert _wait(users) is None
    for i in range(15):
        _fail(users, name=f"other{i}")
    assert _wait(users, name="someone-else") is not None
    assert _wait(users, name="someone-else", ip="10.0.0.2") is None


def test_authentication(users: Users) -> None:
    assert users.authenticate("nurse.a", "bedside-password") is not None
    assert users.authenticate("nurse.a", "bedside-passwordX") is None
    assert users.authenticate("nobody", "bedside-password") is None
    assert users.authenticate("nurse.a" + "x" * 100, "bedside-password") is None
    users.update_user("nurse.a", disabled=True)
    assert users.authenticate("nurse.a", "bedside-password") is None


def test_user_validation(users: Users) -> None:
    with pytest.raises(Conflict):
        users.add_user("nurse.a", role="nurse")
    with pytest.raises(InvalidValue, match="role"):
        users.add_user("x", role="matron")
    with pytest.raises(InvalidValue, match="password"):
        users.add_user("y", role="nurse", password="short")
    with pytest.raises(NotFound):
        users.create_token("nobody")
