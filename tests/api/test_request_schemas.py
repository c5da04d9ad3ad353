"""Unknown keys in a request body are refused, never dropped (issue 14 D4): a misspelt ``zones`` instead of
``zone_ids`` was accepted with 201 and an empty perimeter of zones, that is the whole camera."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Engine

from tests.api.world import World, build_world
from tests.support.governance_api import activation_body, login
from vigie.api.schemas import RequestModel


@pytest.fixture
def world(db: Engine) -> World:
    return build_world(db)


def body_params(dependant: Dependant) -> list[Any]:
    """The body parameters of a route and of every dependency it has, at any depth."""
    return [*dependant.body_params, *(p for d in dependant.dependencies for p in body_params(d))]


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route, inside the routers the app includes (FastAPI >= 0.16x wraps each included router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def body_models(world: World) -> dict[str, type[BaseModel]]:
    """The body model of every route of the app that takes one, by ``METHOD path``."""
    models: dict[str, type[BaseModel]] = {}
    for route in api_routes(world.client().app.routes):  # type: ignore[attr-defined]
        for param in body_params(route.dependant):
            model = param.field_info.annotation
            assert isinstance(model, type) and issubclass(model, BaseModel), f"{route.path}: {param.name} not a model"
            for method in route.methods or ():
                models[f"{method} {route.path}"] = model
    return models


def test_every_request_body_model_forbids_unknown_keys(world: World) -> None:
    models = body_models(world)
    # the routes that take a JSON body today; a new one is checked as soon as it exists
    assert {"POST /api/activations", "POST /api/exports", "PATCH /api/users/{username}", "POST /api/stops"} <= set(
        models
    )
    lax = {route: m.__name__ for route, m in models.items() if m.model_config.get("extra") != "forbid"}
    assert lax == {}, f"request bodies that drop unknown keys: {lax}"
    assert all(issubclass(m, RequestModel) for m in models.values())


def test_every_json_body_of_the_openapi_description_forbids_unknown_keys(world: World) -> None:
    description = world.client().get("/openapi.json").json()
    schemas = description["components"]["schemas"]
    bodies = {}
    for path, operations in description["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                bodies[f"{method.upper()} {path}"] = content["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(bodies) == set(body_models(world)), "the description and the routes list the same bodies"
    lax = {op: name for op, name in bodies.items() if schemas[name].get("additionalProperties") is not False}
    assert lax == {}, f"described as accepting unknown keys: {lax}"


def test_an_activation_with_zones_instead_of_zone_ids_is_refused_naming_the_key(world: World) -> None:
    answer = login(world, "sup.vil").post("/api/activations", json=activation_body(zones=["parvis"]))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert "'zones'" in error["message"]
    assert [d["field"] for d in error["details"]] == ["body.zones"]
    assert "unknown field 'zones'" in error["details"][0]["message"]
    assert not [e for e in world.audit.events if str(e.action) == "activation.requested"]


def test_an_unknown_key_is_refused_on_a_patch_too(world: World) -> None:
    answer = login(world, "admin.vil").patch("/api/users/op.vil", json={"disabled": True, "expires": "2027-01-01"})
    assert answer.status_code == 422
    assert "'expires'" in answer.json()["error"]["message"]
    assert login(world, "op.vil").get("/api/auth/me").status_code == 200, "the account was not disabled"
