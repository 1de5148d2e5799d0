"""The main shopper operations carry examples in the OpenAPI document, and the examples are
true: each one validates against its operation's schema (no field the schema lacks, every
type, enum and required field right), and the register and login examples work as sent."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from app.api import examples
from app.extensions import api

# (method, path): whether the request body has an example too.
MAIN_OPERATIONS = {
    ("post", "/api/v1/auth/register"): True,
    ("post", "/api/v1/auth/login"): True,
    ("get", "/api/v1/cart"): False,
    ("post", "/api/v1/cart/items"): True,
    ("post", "/api/v1/checkout"): True,
    ("get", "/api/v1/orders/{order_id}"): False,
    ("get", "/api/v1/books"): False,
    ("get", "/api/v1/books/{book_id}"): False,
    ("get", "/api/v1/search"): False,
}


@pytest.fixture(scope="module")
def document(app):
    with app.app_context():
        return api.spec.to_dict()


def as_json_schema(schema: dict, components: dict) -> dict:
    """An OpenAPI 3.0 schema as plain JSON Schema: refs inlined, ``nullable`` as a null type,
    and objects closed (an example may not hold a field the document does not declare)."""
    schema = copy.deepcopy(schema)
    if "$ref" in schema:
        return as_json_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if schema.pop("nullable", False):
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    if "properties" in schema:
        schema["properties"] = {
            name: as_json_schema(sub, components) for name, sub in schema["properties"].items()
        }
        schema.setdefault("additionalProperties", False)
    if isinstance(schema.get("items"), dict):
        schema["items"] = as_json_schema(schema["items"], components)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [as_json_schema(sub, components) for sub in schema[key]]
    return schema


def content(part: dict) -> dict:
    return part["content"]["application/json"]


@pytest.mark.parametrize(("method", "path"), list(MAIN_OPERATIONS))
def test_main_operations_have_true_examples(document, method, path):
    operation = document["paths"][path][method]
    components = document["components"]["schemas"]
    success = next(code for code in operation["responses"] if code.startswith("2"))
    answer = content(operation["responses"][success])
    assert "example" in answer, f"{method.upper()} {path}: no response example"
    jsonschema.validate(answer["example"], as_json_schema(answer["schema"], components))
    if MAIN_OPERATIONS[(method, path)]:
        body = content(operation["requestBody"])
        assert "example" in body, f"{method.upper()} {path}: no request example"
        jsonschema.validate(body["example"], as_json_schema(body["schema"], components))


def test_a_wrong_example_would_be_caught(document):
    components = document["components"]["schemas"]
    order = as_json_schema({"$ref": "#/components/schemas/Order"}, components)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**examples.ORDER, "status": "shipping"}, order)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**examples.ORDER, "totl_cents": 1}, order)


def test_the_register_and_login_examples_work_as_sent(client):
    registered = client.post("/api/v1/auth/register", json=examples.REGISTER)
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json().keys() == examples.USER.keys()
    login = client.post("/api/v1/auth/login", json=examples.LOGIN)
    assert login.status_code == 200, login.get_json()
    assert login.get_json().keys() == examples.TOKENS.keys()
