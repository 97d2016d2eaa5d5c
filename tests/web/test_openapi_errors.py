"""The OpenAPI document's error responses (web/openapi_errors.py): a route added to a router is documented as it is."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from veche.domain.model import User
from veche.web.api.params import UserId
from veche.web.openapi_errors import document_errors
from veche.web.security import current_user, require_admin

ERROR_REF = {"$ref": "#/components/schemas/Error"}


class Rename(BaseModel):
    name: str


def _document() -> dict[str, object]:
    router = APIRouter(prefix="/users")

    @router.patch("/{user_id}")
    async def rename(user_id: UserId, body: Rename, _admin: User = Depends(require_admin)) -> None: ...

    @router.get("")
    async def mine(_user: User = Depends(current_user)) -> None: ...

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    document_errors(app)
    return app.openapi()


def test_a_new_admin_route_gets_its_errors_in_the_one_shape() -> None:
    responses = _document()["paths"]["/api/v1/users/{user_id}"]["patch"]["responses"]  # type: ignore[index]
    assert {"400", "401", "403", "404", "409", "422"} <= set(responses)
    assert all(responses[s]["content"]["application/json"]["schema"] == ERROR_REF for s in responses if s >= "400")
    assert "429" not in responses


def test_a_signed_in_read_gets_only_what_it_can_answer() -> None:
    document = _document()
    responses = document["paths"]["/api/v1/users"]["get"]["responses"]  # type: ignore[index]
    assert set(responses) == {"200", "401"}
    schemas = document["components"]["schemas"]  # type: ignore[index]
    assert "HTTPValidationError" not in schemas and schemas["Error"]["required"] == ["error"]
