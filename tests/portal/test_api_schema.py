"""The OpenAPI schema documents every answer an operation gives (portal/schema.py), errors in one shape.

test_api_properties.py checks the answers against the schema; these tests say what the schema promises.
"""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
LIST_ERRORS = {400, 401, 404, 429}  # a filter's value, no token, a cursor, the rate limit
DETAIL_ERRORS = {400, 401, 404, 429}  # a NUL in the address
POST_ERRORS = {400, 401, 403, 413, 415, 429}
EXPECTED = {
    "POST /api/v1/contracts/": {201, 422} | POST_ERRORS,
    "POST /api/v1/agreements/": {200, 201} | POST_ERRORS,
    "POST /api/v1/parcels/": {201, 409} | POST_ERRORS,
    "POST /api/v1/after-sales/": {201, 409} | POST_ERRORS,
    "POST /api/v1/interceptions/": {201, 422} | POST_ERRORS,
    "POST /api/v1/claims/": {201, 404, 409, 422} | POST_ERRORS,
    "GET /api/v1/statements/{id}/export/": {200, 403} | DETAIL_ERRORS,  # and format_invalid
    "GET /api/v1/interceptions/lookup/": {200, 400, 401, 429},  # one answer, no cursor: never 404
    # Webhooks are a merchant client's alone: anyone else is refused (403).
    "GET /api/v1/webhook-deliveries/": {200, 403} | LIST_ERRORS,
    "GET /api/v1/webhook-deliveries/{id}/": {200, 403} | DETAIL_ERRORS,
    "GET /api/v1/webhooks/": {200, 403} | LIST_ERRORS,
    "GET /api/v1/webhooks/{id}/": {200, 403} | DETAIL_ERRORS,
    "POST /api/v1/webhooks/": {201} | POST_ERRORS,
    "PATCH /api/v1/webhooks/{id}/": {200, 404} | POST_ERRORS,
    "DELETE /api/v1/webhooks/{id}/": {204, 400, 401, 403, 404, 429},
    # Signed, not a token: no 401 for a token, no 403, no rate limit; it reads its body itself (no 415).
    "POST /api/v1/carriers/{code}/events/": {200, 202, 400, 401, 404, 413},
}


@pytest.fixture
def schema():
    return json.loads(Client().get("/api/schema/", {"format": "json"}).content)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_each_status_it_can_answer_with(schema):
    for name, operation in operations(schema):
        documented = {int(code) for code in operation["responses"]}
        if name in EXPECTED:
            expected = EXPECTED[name]
        elif name.startswith("GET ") and name.endswith("/{id}/"):
            expected = {200} | DETAIL_ERRORS
        else:
            assert name.startswith("GET "), f"{name}: say in EXPECTED which statuses it answers with"
            expected = {200} | LIST_ERRORS
        assert documented == expected, name


def test_every_error_answer_has_the_one_error_shape(schema):
    for name, operation in operations(schema):
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                assert response["content"] == error, (name, code)
                assert response["description"], (name, code)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail", "errors"]
    assert error["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ErrorItem"}
    item = schema["components"]["schemas"]["ErrorItem"]
    assert set(item["properties"]) == {"code", "message", "field", "row", "column"}
    assert item["required"] == ["code", "message"]


def test_the_callbacks_answers_and_body_are_documented(schema):
    callback = schema["paths"]["/api/v1/carriers/{code}/events/"]["post"]
    for code in ("200", "202"):
        assert callback["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/CarrierEventReceipt"
        }
    # The callback reads JSON, in one of three shapes told apart by "type".
    assert callback["requestBody"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/CarrierEventRequest"}}
    }
    assert schema["components"]["schemas"]["CarrierEventRequest"]["discriminator"]["mapping"].keys() == {
        "tracking",
        "interception_result",
        "return_result",
    }


def test_a_post_that_answers_with_a_list_is_not_documented_as_a_filtered_paginated_list(schema):
    apply = schema["paths"]["/api/v1/contracts/"]["post"]
    assert "parameters" not in apply  # no cursor, page size or filters on a POST
    assert apply["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContractApplication"
    }
