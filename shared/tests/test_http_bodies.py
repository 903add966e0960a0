"""Body parsing of the shared app factory: malformed JSON is a 400 problem, never a 500."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from aiohttp.web import Request

from shared.errors import BadRequest, ValidationFailed
from shared.http import read_json, validate


def _request(body: bytes) -> Request:
    request = make_mocked_request("POST", "/api/v1/x", headers={"Content-Type": "application/json"})

    async def read() -> bytes:
        return body

    request.read = read  # type: ignore[method-assign]
    return request


@pytest.mark.parametrize("body", [b"{", b'{"a": "\xff"}', b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a": ' + b"9" * 5000 + b"}"])
async def test_malformed_or_too_deeply_nested_json_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest) as raised:
        await read_json(_request(body))
    assert raised.value.code == "invalid_json"


@pytest.mark.parametrize(("body", "field"), [
    (b'{"name": "a\\u0000b"}', "name"),
    (b'{"legal_representative": {"phone": "\\ud800"}}', "legal_representative.phone"),
    (b'{"items": [{"x": "ok"}, {"y": "\\u0000"}]}', "items.1.y"),
    (b'{"a\\u0000": 1}', "a\x00"),
])
async def test_text_postgresql_cannot_store_is_a_field_error(body: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await read_json(_request(body))
    assert raised.value.code == "invalid_text"
    assert raised.value.errors[0]["field"] == field


def test_query_values_with_a_nul_are_refused_too() -> None:
    from pydantic import BaseModel

    class Query(BaseModel):
        phone: str

    with pytest.raises(ValidationFailed) as raised:
        validate(Query, {"phone": "138\x00"})
    assert raised.value.errors == [{"field": "phone", "message": "contains a NUL character"}]
