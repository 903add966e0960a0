"""Header smuggling: what the gateway checks must be what the services act on.

* Exactly one ``Authorization`` header, else 400 ``duplicate_authorization``: a logged-out
  (stolen) token next to a valid one must not revive it, whichever comes first.
* Ambiguous message framing (``Content-Length`` with ``Transfer-Encoding``, two lengths,
  folded headers, unknown or stacked codings, bad chunk sizes) is refused with 400 and the
  connection is not reused: the smuggled second request in the body is never answered.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Platform
from tests.support import rawhttp

from .conftest import HOST, World

pytestmark = pytest.mark.e2e


async def me(platform: Platform, headers: list[tuple[str, str]]) -> rawhttp.RawResponse:
    return await rawhttp.get(HOST, platform.config.port("gateway"), "/api/v1/me", headers=headers)


async def test_a_valid_token_alone_is_accepted(platform: Platform, world: World) -> None:
    """The control: the raw client speaks well enough to be let in."""
    r = await me(platform, [("Authorization", f"Bearer {world.ent_b.token}")])
    assert r.status == 200 and r.json["id"] == world.ent_b.id, r  # type: ignore[index]


@pytest.mark.parametrize("order", ["revoked_first", "revoked_last"])
async def test_a_second_authorization_header_is_refused(platform: Platform, world: World, order: str) -> None:
    headers = [
        ("Authorization", f"Bearer {world.revoked_ent_a}"),
        ("Authorization", f"Bearer {world.ent_b.token}"),
    ]
    if order == "revoked_last":
        headers.reverse()
    r = await me(platform, headers)
    assert (r.status, r.code) == (400, "duplicate_authorization"), r
    assert world.ent_a.id.encode() not in r.body


@pytest.mark.parametrize("spelling", ["authorization", "AUTHORIZATION", "Authorization "])
async def test_duplicate_authorization_in_any_casing_is_refused(
    platform: Platform, world: World, spelling: str
) -> None:
    headers = [("Authorization", f"Bearer {world.ent_b.token}"), (spelling, f"Bearer {world.revoked_ent_a}")]
    r = await me(platform, headers)
    assert r.status == 400, r
    assert world.ent_a.id.encode() not in r.body


async def test_the_same_valid_token_twice_is_still_refused(platform: Platform, world: World) -> None:
    token = f"Bearer {world.ent_b.token}"
    r = await me(platform, [("Authorization", token), ("Authorization", token)])
    assert (r.status, r.code) == (400, "duplicate_authorization"), r


async def test_a_revoked_token_cannot_create_a_grant_next_to_a_valid_one(
    platform: Platform, world: World
) -> None:
    """The issue's escalation: the thief's own valid session (enterprise B) plus the stolen,
    logged-out enterprise A token, used to grant A's seal."""
    body = json.dumps(
        {
            "name": world.bystander.name,
            "id_type": "resident_id_card",
            "id_number": world.bystander.body["id_number"],
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
        }
    ).encode()
    for headers in (
        [
            ("Authorization", f"Bearer {world.ent_b.token}"),
            ("Authorization", f"Bearer {world.revoked_ent_a}"),
        ],
        [
            ("Authorization", f"Bearer {world.revoked_ent_a}"),
            ("Authorization", f"Bearer {world.ent_b.token}"),
        ],
    ):
        r = await rawhttp.get(
            HOST,
            platform.config.port("gateway"),
            f"/api/v1/seals/{world.seal_a['seal_id']}/grants",
            method="POST",
            headers=[*headers, ("Content-Type", "application/json")],
            body=body,
        )
        assert (r.status, r.code) == (400, "duplicate_authorization"), r


SMUGGLED = b"GET /api/v1/agreements HTTP/1.1\r\nHost: x\r\n\r\n"
JSON = b'{"method":"password"}'


def framing_attacks() -> dict[str, bytes]:
    head = "POST /api/v1/sessions HTTP/1.1\r\nHost: {h}\r\nContent-Type: application/json\r\n"
    chunked_body = f"{len(JSON):x}\r\n".encode() + JSON + b"\r\n0\r\n\r\n" + SMUGGLED
    return {
        "cl_and_te": (head + f"Content-Length: {len(JSON)}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        + chunked_body,
        "te_and_cl": (
            head + f"Transfer-Encoding: chunked\r\nContent-Length: {len(chunked_body)}\r\n\r\n"
        ).encode()
        + chunked_body,
        "two_content_lengths": (
            head + f"Content-Length: {len(JSON)}\r\nContent-Length: {len(JSON) + len(SMUGGLED)}\r\n\r\n"
        ).encode()
        + JSON
        + SMUGGLED,
        "content_length_list": (
            head + f"Content-Length: {len(JSON)}, {len(JSON) + len(SMUGGLED)}\r\n\r\n"
        ).encode()
        + JSON
        + SMUGGLED,
        "te_chunked_identity": (head + "Transfer-Encoding: chunked, identity\r\n\r\n").encode()
        + chunked_body,
        "te_identity_chunked_twice": (
            head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
        ).encode()
        + chunked_body,
        "te_xchunked": (head + f"Transfer-Encoding: xchunked\r\nContent-Length: {len(JSON)}\r\n\r\n").encode()
        + JSON
        + SMUGGLED,
        "te_space_before_colon": (
            head + f"Transfer-Encoding : chunked\r\nContent-Length: {len(JSON)}\r\n\r\n"
        ).encode()
        + JSON
        + SMUGGLED,
        "te_vertical_tab": (
            head + f"Transfer-Encoding:\x0bchunked\r\nContent-Length: {len(JSON)}\r\n\r\n"
        ).encode()
        + JSON
        + SMUGGLED,
        "te_folded": (
            head + f"Transfer-Encoding: identity\r\n chunked\r\nContent-Length: {len(JSON)}\r\n\r\n"
        ).encode()
        + JSON
        + SMUGGLED,
        "folded_authorization": (
            head + f"Authorization: Bearer\r\n x.y.z\r\nContent-Length: {len(JSON)}\r\n\r\n"
        ).encode()
        + JSON,
        "chunk_size_not_hex": (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        + b"zz\r\n"
        + JSON
        + b"\r\n0\r\n\r\n"
        + SMUGGLED,
        "chunk_size_negative": (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        + b"-1\r\n"
        + JSON
        + b"\r\n0\r\n\r\n"
        + SMUGGLED,
        "chunk_size_0x_prefix": (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        + f"0x{len(JSON):x}\r\n".encode()
        + JSON
        + b"\r\n0\r\n\r\n"
        + SMUGGLED,
        "chunk_size_overflow": (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        + b"1"
        + b"0" * 20
        + b"\r\n"
        + JSON
        + b"\r\n0\r\n\r\n"
        + SMUGGLED,
        "chunk_size_too_short": (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        + b"3\r\n"
        + JSON
        + b"\r\n0\r\n\r\n"
        + SMUGGLED,
        "bare_lf_line_endings": (
            head.replace("\r\n", "\n") + f"Content-Length: {len(JSON)}\nTransfer-Encoding: chunked\n\n"
        ).encode()
        + chunked_body,
        "nul_in_header": (head + f"X-Note: a\x00b\r\nContent-Length: {len(JSON)}\r\n\r\n").encode() + JSON,
        "cr_in_header": (
            head + f"X-Note: a\rTransfer-Encoding: chunked\r\nContent-Length: {len(JSON)}\r\n\r\n"
        ).encode()
        + JSON
        + SMUGGLED,
    }


ATTACKS = framing_attacks()


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_ambiguous_framing_is_refused_and_nothing_is_smuggled(platform: Platform, name: str) -> None:
    port = platform.config.port("gateway")
    request = ATTACKS[name].replace(b"{h}", f"{HOST}:{port}".encode())
    replies = await rawhttp.exchange(HOST, port, request, quiet_after=3.0)
    assert replies, "no answer at all"
    assert replies[0].status == 400, replies
    if replies[0].json is not None:  # a problem document, when the gateway writes one
        assert replies[0].code in ("invalid_framing", "bad_request", "duplicate_authorization"), replies
    assert len(replies) == 1, f"a smuggled request was answered: {replies}"
