"""POST /api/v1/auth/token — log in, get a bearer token; DELETE it to log out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from veche.web.api.schemas import LoginIn, TokenOut, UserOut
from veche.web.security import Caller, current_caller
from veche.web.sign_out import sign_out

router = APIRouter(prefix="/auth", tags=["auth"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/token", response_model=TokenOut, summary="Log in with login and password")
async def create_token(body: LoginIn, request: Request) -> TokenOut:
    auth = request.app.state.container.get_auth()
    result = await auth.login(body.login, body.password, client=client_address(request), kind="api")
    return TokenOut(token=result.token, user=UserOut.of(result.user))


@router.delete("/token", status_code=204, summary="Revoke the token used for this call")
async def revoke_token(request: Request, caller: Caller = Depends(current_caller)) -> None:
    await sign_out(request.app.state.container, caller.user, caller.token)


@router.get("/me", response_model=UserOut, summary="Who am I")
async def me(caller: Caller = Depends(current_caller)) -> UserOut:
    return UserOut.of(caller.user)
