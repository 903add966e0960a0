"""GB/T 38540 seals and signatures: ofdrw's vectors, our outputs, an independent re-check, tampering."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from shared.gm.errors import MalformedData
from shared.gm.pkcs12 import load_pkcs12
from shared.gm.ses import (
    Seal,
    SealPicture,
    SesSignature,
    make_seal,
    parse_seal,
    parse_signature,
    sign,
    verify_seal,
    verify_signature,
)
from shared.gm.sm2 import Sm2PrivateKey
from shared.gm.x509 import (
    create_issuing_ca,
    create_root,
    issue_person_certificate,
    issue_seal_maker_certificate,
)

from .independent import timestamp_token, verify_v4_seal, verify_v4_signature
from .vectors import OFDRW_PASSWORD, read

NOW = datetime.now(UTC).replace(microsecond=0)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (64, 64), (200, 0, 0, 255)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    root_key, ca_key, maker_key, person_key = (Sm2PrivateKey.generate() for _ in range(4))
    root = create_root(root_key, {"country_name": "CN", "common_name": "SM2 Root"})
    ca = create_issuing_ca(ca_key.public_key, {"country_name": "CN", "common_name": "SM2 CA"}, root, root_key)
    maker = issue_seal_maker_certificate(maker_key.public_key, organization="测试平台", ca=ca, ca_key=ca_key)
    person = issue_person_certificate(
        person_key.public_key, name="张三", person_id="p-1", ca=ca, ca_key=ca_key
    )
    return {"maker_key": maker_key, "maker": maker.dump(), "person_key": person_key, "person": person.dump()}


def _our_seal(pki: dict[str, Any], **over: Any) -> bytes:
    args = dict(
        es_id="11010000000001",
        name="测试科技有限公司合同专用章",
        seal_type=3,
        signer_certificates=[pki["person"]],
        valid_from=NOW - timedelta(days=1),
        valid_to=NOW + timedelta(days=365),
        picture=SealPicture("PNG", _png(), 40, 40),
        maker_key=pki["maker_key"],
        maker_certificate=pki["maker"],
    )
    args.update(over)
    return make_seal(**args)


# ---- ofdrw's files ----


@pytest.mark.parametrize("name,version", [("UserV4.esl", 4), ("UserV1.esl", 1)])
def test_ofdrw_seals_parse_and_verify(name: str, version: int) -> None:
    seal = parse_seal(read(name))
    assert seal.version == version
    assert seal.vendor_id == "OFDR&WTest"
    assert seal.picture.type == "PNG" and (seal.picture.width_mm, seal.picture.height_mm) == (40, 40)
    assert seal.picture.data.startswith(b"\x89PNG")
    assert verify_seal(seal)
    user_cert = load_pkcs12(read("USER.p12"), OFDRW_PASSWORD).certificate.dump()
    assert seal.allows(user_cert)
    der = bytearray(read(name))
    der[der.find("测试".encode())] ^= 0x01  # one byte of the seal name
    assert not verify_seal(parse_seal(bytes(der)))


def test_ofdrw_v4_seal_passes_the_independent_checker_too() -> None:
    assert verify_v4_seal(read("UserV4.esl"))


def _sesv4_parts() -> tuple[bytes, bytes]:
    with zipfile.ZipFile(io.BytesIO(read("SESV4SignDoc.ofd"))) as z:
        return z.read("Doc_0/Signs/Sign_0/SignedValue.dat"), z.read("Doc_0/Signs/Sign_0/Signature.xml")


def test_ofdrw_signature_verifies_and_fails_when_tampered() -> None:
    value, signature_xml = _sesv4_parts()
    sig = parse_signature(value)
    assert sig.version == 4 and sig.property_info == "/Doc_0/Signs/Sign_0/Signature.xml"
    assert sig.seal.der == read("UserV4.esl")
    assert verify_signature(sig, signature_xml).ok
    assert verify_v4_signature(value, signature_xml)
    assert not verify_signature(sig, signature_xml.replace(b"50 50 40 40", b"50 50 40 41")).data_hash_ok
    broken = bytearray(value)
    broken[-10] ^= 0x01  # inside the signature value
    check = verify_signature(parse_signature(bytes(broken)), signature_xml)
    assert check.data_hash_ok and not check.signature_ok
    broken = bytearray(value)
    broken[broken.find(b"/Doc_0/Signs")] ^= 0x01  # propertyInfo, inside TBS_Sign
    assert not verify_signature(parse_signature(bytes(broken)), signature_xml).signature_ok


# ---- our own seals and signatures ----


def test_make_seal_round_trip_and_independent_check(pki: dict[str, Any]) -> None:
    der = _our_seal(pki)
    seal = parse_seal(der)
    assert (seal.version, seal.vendor_id, seal.name, seal.seal_type) == (
        4,
        "ESEAL",
        "测试科技有限公司合同专用章",
        3,
    )
    assert seal.is_valid_at(NOW) and not seal.is_valid_at(NOW + timedelta(days=400))
    assert seal.allows(pki["person"])
    assert not seal.allows(pki["maker"])
    assert verify_seal(seal)
    assert verify_v4_seal(der)  # independent of parse_seal/verify_seal


def test_sign_round_trip_with_timestamp_and_independent_check(pki: dict[str, Any]) -> None:
    seal = _our_seal(pki)
    data = b"<ofd:Signature>...</ofd:Signature>"
    seen: list[bytes] = []

    def tsa(value: bytes) -> bytes:
        seen.append(value)
        return timestamp_token(value)

    out = sign(
        seal_der=seal,
        signed_data=data,
        property_info="/Doc_0/Signs/Sign_0/Signature.xml",
        signer_key=pki["person_key"],
        signer_certificate=pki["person"],
        timestamp=tsa,
    )
    sig = parse_signature(out)
    assert sig.timestamp is not None and seen == [sig.signature]
    check = verify_signature(sig, data)
    assert check.ok and check.timestamp_imprint_ok is True
    assert verify_v4_signature(out, data)
    assert not verify_v4_signature(out, data + b" ")
    assert not verify_signature(sig, data + b" ").ok


def test_sign_refuses_signer_not_listed_and_foreign_key(pki: dict[str, Any]) -> None:
    seal = _our_seal(pki)
    stranger = Sm2PrivateKey.generate()
    with pytest.raises(ValueError):
        sign(
            seal_der=seal,
            signed_data=b"x",
            property_info="p",
            signer_key=stranger,
            signer_certificate=pki["person"],
        )
    with pytest.raises(ValueError):
        sign(
            seal_der=seal,
            signed_data=b"x",
            property_info="p",
            signer_key=pki["maker_key"],
            signer_certificate=pki["maker"],
        )
    with pytest.raises(ValueError):
        _our_seal(pki, maker_key=stranger)


def test_seal_listing_swapped_signer_is_reported(pki: dict[str, Any]) -> None:
    """A signature whose signer is not in the seal's list must not pass as a whole."""
    seal = parse_seal(_our_seal(pki))
    ofdrw = load_pkcs12(read("USER.p12"), OFDRW_PASSWORD)
    assert not seal.allows(ofdrw.certificate.dump())


def test_ofdrw_keys_with_our_code_path() -> None:
    """Seal made with ofdrw's seal-maker key for ofdrw's user; signed with ofdrw's user key."""
    maker = load_pkcs12(read("SealBuilder.p12"), OFDRW_PASSWORD)
    user = load_pkcs12(read("USER.p12"), OFDRW_PASSWORD)
    seal = make_seal(
        es_id="ofdrw-interop",
        name="互通测试章",
        seal_type=1,
        signer_certificates=[user.certificate.dump()],
        valid_from=NOW,
        valid_to=NOW + timedelta(days=1),
        picture=SealPicture("PNG", _png(), 40, 40),
        maker_key=maker.private_key,  # type: ignore[arg-type]
        maker_certificate=maker.certificate.dump(),
    )
    out = sign(
        seal_der=seal,
        signed_data=b"data",
        property_info="x",
        signer_key=user.private_key,  # type: ignore[arg-type]
        signer_certificate=user.certificate.dump(),
    )
    assert verify_v4_signature(out, b"data")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d[:-1],
        lambda d: d + b"\x00",
        lambda d: b"\x30\x84\xff\xff\xff\xff" + d[4:],
        lambda d: b"",
        lambda d: b"\x30\x00",
    ],
)
def test_malformed_input_is_a_clean_error(mutate: Callable[[bytes], bytes]) -> None:
    with pytest.raises(MalformedData):
        parse_seal(mutate(read("UserV4.esl")))
    value, _ = _sesv4_parts()
    with pytest.raises(MalformedData):
        parse_signature(mutate(value))


def test_fuzzed_seals_and_signatures_fail_cleanly() -> None:
    """Random byte flips: either a parse that verifies false, or a GmError; nothing else."""
    import random

    from shared.gm.errors import GmError

    rng = random.Random(38540)
    value, signature_xml = _sesv4_parts()
    parse: Callable[[bytes], Seal | SesSignature]
    for original, parse in (
        (read("UserV4.esl"), parse_seal),
        (read("UserV1.esl"), parse_seal),
        (value, parse_signature),
    ):
        for _ in range(150):
            data = bytearray(original)
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(min(len(data), 1200)) if rng.random() < 0.7 else rng.randrange(len(data))
                data[pos] = rng.randrange(256)
            try:
                parsed = parse(bytes(data))
            except GmError:
                continue
            if bytes(data) == original:
                continue
            if isinstance(parsed, Seal):
                assert not verify_seal(parsed) or parsed.der != original
            else:
                assert isinstance(parsed, SesSignature)
                verify_signature(parsed, signature_xml)  # must not raise


def test_openssl_verifies_our_seal_and_signature_values(pki: dict[str, Any], tmp_path: Path) -> None:
    """OpenSSL's SM2/SM3 (not gmalglib) checks both signatures we produce, over the bytes
    GB/T 38540 says are signed: SES_SealInfo for the seal, TBS_Sign for the signature."""
    from asn1crypto import core

    from shared.gm.x509 import load_certificate, to_pem

    from .independent import openssl_sm2_verify

    seal = _our_seal(pki)
    out = sign(
        seal_der=seal,
        signed_data=b"d",
        property_info="p",
        signer_key=pki["person_key"],
        signer_certificate=pki["person"],
    )

    def check(cert_der: bytes, message: bytes, signature: bytes) -> bool:
        ok = openssl_sm2_verify(to_pem(load_certificate(cert_der)), message, signature, tmp_path)
        assert ok is not None, "OpenSSL 3 with SM2 is part of the set-up (scripts/ensure-system.sh)"
        return ok

    s = core.Sequence.load(seal)
    assert check(bytes(s[1].native), s[0].dump(), s[3].contents[1:])
    sig = core.Sequence.load(out)
    assert check(bytes(sig[1].native), sig[0].dump(), sig[3].contents[1:])
    assert not check(bytes(sig[1].native), sig[0].dump() + b"x", sig[3].contents[1:])


def test_timestamp_over_another_value_fails(pki: dict[str, Any]) -> None:
    out = sign(
        seal_der=_our_seal(pki),
        signed_data=b"d",
        property_info="p",
        signer_key=pki["person_key"],
        signer_certificate=pki["person"],
        timestamp=lambda value: timestamp_token(value, wrong=True),
    )
    check = verify_signature(parse_signature(out), b"d")
    assert check.timestamp_imprint_ok is False and not check.ok
    garbage = sign(
        seal_der=_our_seal(pki),
        signed_data=b"d",
        property_info="p",
        signer_key=pki["person_key"],
        signer_certificate=pki["person"],
        timestamp=lambda value: b"\x30\x03\x02\x01\x01",
    )
    assert verify_signature(parse_signature(garbage), b"d").timestamp_imprint_ok is False


def test_seal_listing_certificate_digests(pki: dict[str, Any]) -> None:
    der = _our_seal(pki, cert_list_type=2)
    seal = parse_seal(der)
    assert seal.cert_list_type == 2 and seal.signer_certificates == ()
    assert seal.allows(pki["person"]) and not seal.allows(pki["maker"])
    assert verify_seal(seal) and verify_v4_seal(der)
    out = sign(
        seal_der=der,
        signed_data=b"d",
        property_info="p",
        signer_key=pki["person_key"],
        signer_certificate=pki["person"],
    )
    assert verify_signature(parse_signature(out), b"d").ok
