"""Users: administrators create, list (paged, searched), edit, disable, reset passwords of and delete them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from veche.base.user_admin import UserChanges
from veche.domain.model import User
from veche.web.api.params import MAX_ID, UserId
from veche.web.api.schemas import PasswordIn, UserIn, UserOut, UserPatch
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


@router.get(
    "",
    response_model=list[UserOut],
    summary="List users by login, paged; `q` searches login, name and email; X-Total-Count: how many match (admin)",
)
async def list_users(
    request: Request,
    response: Response,
    _admin: User = Depends(require_admin),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_ID),
    q: str = Query("", max_length=128, description="Part of a login, name or email"),
) -> list[UserOut]:
    page = await request.app.state.container.get_user_admin().page(query=q, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(page.total)
    return [UserOut.of(u) for u in page.users]


@router.get("/{user_id}", response_model=UserOut, summary="One user (admin)")
async def get_user(user_id: UserId, request: Request, _admin: User = Depends(require_admin)) -> UserOut:
    record = await request.app.state.container.get_user_admin().record(user_id)
    return UserOut.of(record.user)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change a user's name, email, administrator right or disable him (his calls end at once; admin)",
)
async def update_user(
    user_id: UserId, body: UserPatch, request: Request, admin: User = Depends(require_admin)
) -> UserOut:
    changes = UserChanges(
        display_name=body.display_name, email=body.email, is_admin=body.is_admin, disabled=body.disabled
    )
    return UserOut.of(await request.app.state.container.get_user_admin().update(admin, user_id, changes))


@router.post(
    "/{user_id}/password",
    status_code=204,
    summary="Set a new password for a local user; his other sign-ins end (admin)",
)
async def reset_password(
    user_id: UserId, body: PasswordIn, request: Request, admin: User = Depends(require_admin)
) -> None:
    await request.app.state.container.get_user_admin().reset_password(admin, user_id, body.password)


@router.delete(
    "/{user_id}",
    status_code=204,
    summary="Delete a user: his sign-ins and calls end, the conferences he owned pass to you (admin)",
)
async def delete_user(user_id: UserId, request: Request, admin: User = Depends(require_admin)) -> None:
    await request.app.state.container.get_user_admin().delete(admin, user_id)
