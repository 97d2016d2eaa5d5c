"""Users: administrators create and list them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from veche.domain.model import User
from veche.web.api.params import MAX_ID
from veche.web.api.schemas import UserIn, UserOut
from veche.web.security import require_admin

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", response_model=UserOut, status_code=201, summary="Create a local user (admin)")
async def create_user(body: UserIn, request: Request, _admin: User = Depends(require_admin)) -> UserOut:
    user = await request.app.state.container.get_auth().create_user(
        login=body.login,
        display_name=body.display_name,
        email=body.email,
        password=body.password,
        is_admin=body.is_admin,
    )
    return UserOut.of(user)


@router.get("", response_model=list[UserOut], summary="List users (admin)")
async def list_users(
    request: Request,
    _admin: User = Depends(require_admin),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> list[UserOut]:
    users = await request.app.state.container.get_user_store().list(limit=limit, offset=offset)
    return [UserOut.of(u) for u in users]
