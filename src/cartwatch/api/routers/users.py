"""User management (admins): list, create, change role or password, disable, issue tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from cartwatch.api.backend import Backend, backend
from cartwatch.api.body import body_of, documented_body
from cartwatch.api.problems import responses
from cartwatch.api.schemas import TokenOut, UserCreate, UserOut, UserPatch
from cartwatch.api.security import Principal, admin

router = APIRouter(prefix="/api/v1", tags=["users"])

Admin = Annotated[Principal, Depends(admin)]
Db = Annotated[Backend, Depends(backend)]
UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]


@router.get("/users", response_model=list[UserOut], responses=responses(401, 403))
def list_users(db: Db, who: Admin) -> list[dict[str, Any]]:
    return [u.to_dict() for u in db.users.list_users()]


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    openapi_extra=documented_body(UserCreate),
    responses=responses(401, 403, 409, 413, 422),
)
def create_user(
    db: Db, who: Admin, body: Annotated[UserCreate, Depends(body_of(UserCreate))]
) -> dict[str, Any]:
    """Create a user (with a password to log in; without one, for API tokens only)."""
    user = db.users.add_user(body.name, role=body.role, password=body.password, actor=who.user.name)
    return user.to_dict()


@router.patch(
    "/users/{name}",
    response_model=UserOut,
    openapi_extra=documented_body(UserPatch),
    responses=responses(401, 403, 404, 413, 422),
)
def patch_user(
    name: UserName,
    db: Db,
    who: Admin,
    body: Annotated[UserPatch, Depends(body_of(UserPatch))],
) -> dict[str, Any]:
    """Change a user's role or password, or disable them (their sessions end)."""
    user = db.users.update_user(
        name,
        role=body.role,
        password=body.password,
        disabled=body.disabled,
        actor=who.user.name,
    )
    return user.to_dict()


@router.post(
    "/users/{name}/tokens",
    status_code=201,
    response_model=TokenOut,
    responses=responses(401, 403, 404, 422),
)
def create_token(name: UserName, db: Db, who: Admin) -> dict[str, Any]:
    """A new bearer token for the user; it is shown only this once."""
    return {"token": db.users.create_token(name, label=f"by {who.user.name}")}
