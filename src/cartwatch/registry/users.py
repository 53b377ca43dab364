"""Users, roles, API tokens, web sessions and login attempts: who may see and change the record.

Passwords are stored as argon2id hashes (``argon2-cffi``); API tokens and session tokens are
stored as SHA-256 digests and shown only once. Sessions live server-side and expire after an idle
time and an absolute lifetime. Login attempts are kept so that failures can be rate limited per
user name and per client address by every app process alike.

Roles are ordered: a viewer reads; a nurse also records assessments and labs; a physician also
records patients, infusions and administrations; an admin also manages users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, Engine, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cartwatch.errors import Conflict, InvalidValue, NotFound
from cartwatch.registry.db import session_factory
from cartwatch.registry.models import AuditEntry, Base

Clock = Callable[[], dt.datetime]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 1024
TOKEN_PREFIX = "cw_"


class Role(StrEnum):
    """A user's role; each role may do what the roles below it may."""

    VIEWER = "viewer"
    NURSE = "nurse"
    PHYSICIAN = "physician"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, required: Role) -> bool:
        """Whether this role may do what ``required`` may."""
        return self.rank >= required.rank


_RANKS = {Role.VIEWER: 1, Role.NURSE: 2, Role.PHYSICIAN: 3, Role.ADMIN: 4}


class User(Base):
    """A person (or a system) that may log in or call the API."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ApiToken(Base):
    """A bearer token for the REST API, stored as its SHA-256 digest."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class WebSession(Base):
    """A server-side login session behind a cookie (the cookie holds the token, we its digest)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class LoginAttempt(Base):
    """One login attempt (the password is never stored), for rate limiting."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_client_at", "client_ip", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    client_ip: Mapped[str] = mapped_column(String(64), nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    """A user as the application sees it (never the password hash)."""

    id: int
    name: str
    role: Role
    created_at: dt.datetime
    disabled: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at.isoformat(),
            "disabled": self.disabled,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionInfo:
    """A live session: whose it is and the CSRF token its state-changing requests must carry."""

    session_id: int
    user: UserView
    csrf_token: str
    created_at: dt.datetime


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_role(value: str) -> Role:
    """A role from its name, or InvalidValue naming the allowed roles."""
    try:
        return Role(value)
    except ValueError:
        raise InvalidValue(
            f"`role={value}` is not a role; expected one of {', '.join(r.value for r in Role)}",
            field="role",
            value=value,
            expected=", ".join(r.value for r in Role),
        ) from None


def check_name(name: str) -> str:
    """A valid user name (1–64 letters, digits, ``._@-``), or InvalidValue."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidValue(
            f"`name={name!r}` is not a valid user name; expected 1–64 letters, digits or ._@-",
            field="name",
            value=name if isinstance(name, str) else None,
            expected="1–64 letters, digits or ._@- (starting with a letter or digit)",
        )
    return name


def check_password(password: str) -> str:
    """A password long enough (8–1024 characters), or InvalidValue (the value is never echoed)."""
    if not isinstance(password, str) or not (
        PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS
    ):
        raise InvalidValue(
            f"the password must have {PASSWORD_MIN_CHARS}–{PASSWORD_MAX_CHARS} characters",
            field="password",
            value=None,
            expected=f"{PASSWORD_MIN_CHARS}–{PASSWORD_MAX_CHARS} characters",
        )
    return password


def _view(row: User) -> UserView:
    return UserView(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        disabled=row.disabled_at is not None,
    )


def _user_snapshot(row: User) -> dict[str, Any]:
    return {"name": row.name, "role": row.role, "disabled": row.disabled_at is not None}


class Users:
    """The users of one registry database, their tokens, sessions and login attempts."""

    def __init__(
        self, engine: Engine, *, clock: Clock = utc_now, hasher: PasswordHasher | None = None
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._sessions = session_factory(engine)
        self._dummy_hash: str | None = None

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def _audit(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        row: User,
        before: dict[str, Any] | None,
    ) -> None:
        session.flush()
        session.add(
            AuditEntry(
                at=self._clock(),
                actor=actor,
                action=action,
                entity="user",
                entity_id=row.id,
                patient_id=None,
                before=before,
                after=_user_snapshot(row),
                note=None,
            )
        )

    def _row(self, session: Session, name: str) -> User:
        row = session.scalar(select(User).where(User.name == name))
        if row is None:
            raise NotFound(f"no user `{name}`", field="name", value=name)
        return row

    # --- users ----------------------------------------------------------------------------

    def add_user(
        self, name: str, *, role: Role | str, password: str | None = None, actor: str = "system"
    ) -> UserView:
        """Create a user; a name already taken raises Conflict."""
        check_name(name)
        chosen = parse_role(str(role))
        hashed = self._hasher.hash(check_password(password)) if password is not None else None
        now = self._clock()
        with self._tx() as session:
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise Conflict(f"user `{name}` already exists", field="name", value=name)
            row = User(
                name=name,
                role=chosen.value,
                password_hash=hashed,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            self._audit(session, actor=actor, action="insert", row=row, before=None)
            return _view(row)

    def update_user(
        self,
        name: str,
        *,
        role: Role | str | None = None,
        password: str | None = None,
        disabled: bool | None = None,
        actor: str = "system",
    ) -> UserView:
        """Change a user's role, password or disabled state (disabling ends their sessions)."""
        chosen = parse_role(str(role)) if role is not None else None
        hashed = self._hasher.hash(check_password(password)) if password is not None else None
        now = self._clock()
        with self._tx() as session:
            row = self._row(session, name)
            before = _user_snapshot(row)
            if chosen is not None:
                row.role = chosen.value
            if hashed is not None:
                row.password_hash = hashed
            if disabled is not None:
                row.disabled_at = (row.disabled_at or now) if disabled else None
            row.updated_at = now
            if disabled or hashed is not None:
                for s in session.scalars(
                    select(WebSession).where(
                        WebSession.user_id == row.id, WebSession.ended_at.is_(None)
                    )
                ):
                    s.ended_at = now
            self._audit(session, actor=actor, action="update", row=row, before=before)
            return _view(row)

    def get_user(self, name: str) -> UserView:
        with self._tx() as session:
            return _view(self._row(session, name))

    def list_users(self) -> list[UserView]:
        with self._tx() as session:
            return [_view(r) for r in session.scalars(select(User).order_by(User.name))]

    def authenticate(self, name: str, password: str) -> UserView | None:
        """The user when ``password`` is theirs and they are enabled; else None (same cost)."""
        with self._tx() as session:
            row = session.scalar(select(User).where(User.name == name)) if len(name) <= 64 else None
            stored = row.password_hash if row is not None else None
            if stored is None and self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
            try:
                self._hasher.verify(stored or self._dummy_hash or "", password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
            if row is None or stored is None or row.disabled_at is not None:
                return None
            if self._hasher.check_needs_rehash(stored):
                row.password_hash = self._hasher.hash(password)
            return _view(row)

    def password_hash(self, name: str) -> str | None:
        """The stored hash (for audits of how passwords are kept)."""
        with self._tx() as session:
            return self._row(session, name).password_hash

    # --- API tokens ---------------------------------------------------------------------

    def create_token(self, name: str, *, label: str = "") -> str:
        """A new bearer token for user ``name``; only its digest is stored, so show it once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._tx() as session:
            row = self._row(session, name)
            session.add(
                ApiToken(
                    user_id=row.id,
                    token_sha256=digest(token),
                    label=label[:64],
                    created_at=self._clock(),
                )
            )
        return token

    def revoke_token(self, token: str) -> bool:
        """Revoke a token; False when it was not known."""
        with self._tx() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(token)))
            if row is None:
                return False
            row.revoked_at = row.revoked_at or self._clock()
            return True

    def user_for_token(self, token: str) -> UserView | None:
        """The enabled user a live token belongs to, or None."""
        with self._tx() as session:
            row = session.scalar(
                select(User)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_sha256 == digest(token), ApiToken.revoked_at.is_(None))
            )
            if row is None or row.disabled_at is not None:
                return None
            return _view(row)

    # --- sessions ---------------------------------------------------------------------------

    def start_session(self, user_id: int) -> tuple[str, str]:
        """A new session for the user: (cookie token, CSRF token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._clock()
        with self._tx() as session:
            session.add(
                WebSession(
                    user_id=user_id,
                    token_sha256=digest(token),
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token, csrf

    def session(
        self, token: str, *, idle: dt.timedelta, absolute: dt.timedelta
    ) -> SessionInfo | None:
        """The live session behind a cookie token, touched now; None when unknown or expired."""
        now = self._clock()
        with self._tx() as session:
            found = session.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_sha256 == digest(token))
            ).first()
            if found is None:
                return None
            row, user = found
            expired = (
                row.ended_at is not None
                or now - row.last_seen_at > idle
                or now - row.created_at > absolute
                or user.disabled_at is not None
            )
            if expired:
                if row.ended_at is None:
                    row.ended_at = now
                return None
            if now - row.last_seen_at > min(idle / 10, dt.timedelta(minutes=1)):
                row.last_seen_at = now
            return SessionInfo(
                session_id=row.id, user=_view(user), csrf_token=row.csrf_token, created_at=now
            )

    def end_session(self, token: str) -> None:
        """Log out: the session can no longer be used."""
        with self._tx() as session:
            row = session.scalar(select(WebSession).where(WebSession.token_sha256 == digest(token)))
            if row is not None and row.ended_at is None:
                row.ended_at = self._clock()

    # --- login attempts ------------------------------------------------------------------------

    def record_login_attempt(self, *, username: str, client_ip: str, succeeded: bool) -> None:
        with self._tx() as session:
            session.add(
                LoginAttempt(
                    at=self._clock(),
                    username=username[:64],
                    client_ip=client_ip[:64],
                    succeeded=succeeded,
                )
            )

    def login_retry_after(
        self,
        *,
        username: str,
        client_ip: str,
        window: dt.timedelta,
        max_failures_per_user: int,
        max_failures_per_ip: int,
    ) -> int | None:
        """Seconds to wait before another attempt, or None when an attempt is allowed.

        A user name is blocked after ``max_failures_per_user`` failures within ``window`` since
        its last success; a client address after ``max_failures_per_ip`` failures in ``window``.
        """
        now = self._clock()
        since = now - window
        with self._tx() as session:
            last_ok = session.scalar(
                select(func.max(LoginAttempt.at)).where(
                    LoginAttempt.username == username[:64], LoginAttempt.succeeded.is_(True)
                )
            )
            user_since = max(since, last_ok) if last_ok is not None else since
            waits: list[dt.datetime] = []
            for column, value, since_at, limit in (
                (LoginAttempt.username, username[:64], user_since, max_failures_per_user),
                (LoginAttempt.client_ip, client_ip[:64], since, max_failures_per_ip),
            ):
                failures = session.scalars(
                    select(LoginAttempt.at)
                    .where(
                        column == value,
                        LoginAttempt.succeeded.is_(False),
                        LoginAttempt.at > since_at,
                    )
                    .order_by(LoginAttempt.at.desc())
                    .limit(limit)
                ).all()
                if len(failures) >= limit:
                    waits.append(failures[-1] + window)
            if not waits:
                return None
            seconds = (max(waits) - now).total_seconds()
            return max(1, int(seconds) + 1)


def audit_reads(
    engine: Engine,
    *,
    actor: str,
    patient_ids: Sequence[int],
    note: str,
    clock: Clock = utc_now,
) -> None:
    """One ``read`` audit row per patient shown together (e.g. in a list), in one transaction.

    (``Registry.get_patient`` audits single reads; a list of patients is a read of each.)
    """
    if not patient_ids:
        return
    now = clock()
    session = session_factory(engine)()
    try:
        with session.begin():
            session.add_all(
                AuditEntry(
                    at=now,
                    actor=actor,
                    action="read",
                    entity="patient",
                    entity_id=pid,
                    patient_id=pid,
                    before=None,
                    after=None,
                    note=note,
                )
                for pid in patient_ids
            )
    finally:
        session.close()


__all__ = [
    "ApiToken",
    "LoginAttempt",
    "Role",
    "SessionInfo",
    "User",
    "UserView",
    "Users",
    "WebSession",
    "audit_reads",
    "check_name",
    "check_password",
    "digest",
    "parse_role",
]
