"""asn1crypto's indefinite-length test, corrected (``shared/asn1_lengths``): a definite
length whose last octet is 0x80 is written out as it was read, not re-encoded."""

from __future__ import annotations

import asyncio

from asn1crypto import cms, core

from shared import asn1_lengths
from tests.support.pdf_fixtures import build_test_pki


class _Pair(core.Sequence):  # type: ignore[misc]
    _fields = [("number", core.Integer), ("data", core.OctetString)]


def _attribute(kind: str, value: object) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": kind, "values": [value]})


def test_only_a_single_0x80_length_octet_is_indefinite() -> None:
    assert asn1_lengths.indefinite(bytes.fromhex("3080"))
    assert asn1_lengths.indefinite(bytes.fromhex("a080" + "3080"))  # explicit tag, then BER
    assert not asn1_lengths.indefinite(bytes.fromhex("3081" + "80"))  # 128 bytes
    assert not asn1_lengths.indefinite(bytes.fromhex("30820180"))  # 384 bytes
    assert not asn1_lengths.indefinite(bytes.fromhex("a1820780"))  # 1920 bytes, implicit [1]
    assert not asn1_lengths.indefinite(bytes.fromhex("a0820184" + "30820180"))  # explicit, 384
    assert not asn1_lengths.indefinite(bytes.fromhex("1f8101" + "820180"))  # high tag number


def test_a_definite_length_ending_in_0x80_is_written_out_as_read() -> None:
    der = _Pair({"number": 7, "data": b"x" * 377}).dump()
    assert der[:4] == bytes.fromhex("30820180")  # 384 bytes of contents
    value = _Pair.load(der)
    assert value.dump() == der
    # not re-encoded: asn1crypto took the length for BER's indefinite one and parsed the
    # children to re-encode them on every dump
    assert value.children is None


def test_an_indefinite_length_is_still_written_as_der() -> None:
    value = _Pair.load(bytes.fromhex("3080" + "020107" + "04016100" + "00"[:0] + "0000"))
    assert value.dump() == bytes.fromhex("3006" + "020107" + "040161")


def test_a_timestamp_token_in_unsigned_attributes_of_such_a_length_is_not_taken_apart() -> None:
    """The stall of issue 15's batches: the signer info's unsigned attributes (the timestamp
    token's attribute) 1920 bytes long, re-encoded on every dump down into the token."""
    pki = build_test_pki()
    token = asyncio.run(pki.timestamper().async_dummy_response("sha256"))
    token = cms.ContentInfo.load(token.dump())
    attribute = _attribute("signature_time_stamp_token", token)
    for padding in range(1, 512):  # a second attribute brings the contents to 0x..80 bytes
        der = cms.CMSAttributes([attribute, _attribute("message_digest", b"\0" * padding)]).dump()
        if der[1] == 0x82 and der[3] == 0x80:
            break
    attrs = cms.CMSAttributes.load(der)
    attrs.dump()
    embedded = next(a for a in attrs if a["type"].native == "signature_time_stamp_token")["values"][0]
    assert embedded["content"].children is None  # the token was not parsed to be re-encoded
