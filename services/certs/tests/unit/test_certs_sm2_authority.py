"""The SM2 hierarchy adapter: what it makes, read back independently (bare asn1crypto + gmalglib)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from certs.adapters.sm2 import SealInfo, Sm2Authority, create_material, display
from certs.service_layer.crl import _asn1_reason, crl_reason
from cryptography import x509
from PIL import Image

from shared.gm.sm2 import Sm2PrivateKey
from shared.gm.x509 import RevokedEntry
from tests.support import gm_independent as gm

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
AUTHORITY = Sm2Authority(create_material("测试平台"))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (60, 60), (255, 0, 0, 255)).save(out, format="PNG")
    return out.getvalue()


def test_hierarchy_profile_and_chain() -> None:
    m = AUTHORITY.material
    root, issuing, maker = (gm.load_cert(AUTHORITY.root_pem.encode()),
                            gm.load_cert(AUTHORITY.issuing_pem.encode()),
                            gm.load_cert(AUTHORITY.maker_pem.encode()))
    assert gm.chains(maker, issuing, root)
    for cert in (root, issuing, maker):
        assert cert["signature_algorithm"]["algorithm"].dotted == gm.SM2_WITH_SM3
        gm.sm2_point(cert)  # id-ecPublicKey + SM2 curve, checked by OID
    assert root.ca and issuing.ca and not maker.ca
    assert maker.subject.native["organizational_unit_name"] == "seal-maker"
    assert m.maker_key.public_key.point == gm.sm2_point(maker)


def test_person_and_seal_certificates_chain_and_name_their_subject() -> None:
    pid, sid = uuid.uuid4(), uuid.uuid4()
    person = AUTHORITY.issue_person(Sm2PrivateKey.generate().public_key, "张三", pid).certificate
    seal = AUTHORITY.issue_seal(Sm2PrivateKey.generate().public_key, "某公司合同专用章", "某公司",
                                sid).certificate
    root, issuing = AUTHORITY.material.root, AUTHORITY.material.issuing
    assert gm.chains(person, issuing, root) and gm.chains(seal, issuing, root)
    assert display(person.subject) == f"CN=张三,C=CN,serialNumber={pid}"
    assert seal.subject.native["organization_name"] == "某公司"
    assert "digital_signature" in person.key_usage_value.native


def test_crl_is_sm2_signed_and_lists_serials_with_reasons() -> None:
    der = AUTHORITY.crl([RevokedEntry(0x1A2B, T0, _asn1_reason(crl_reason("seal_revoked")))],
                        T0, T0 + timedelta(days=7), 3)
    assert gm.crl_verifies(der, AUTHORITY.material.issuing)
    assert gm.crl_serials(der) == {0x1A2B}
    assert _asn1_reason(x509.ReasonFlags.unspecified) is None
    assert _asn1_reason(crl_reason("affiliation_changed")) == "affiliation_changed"


def test_seal_is_signed_by_the_maker_and_lists_the_signers() -> None:
    signer = AUTHORITY.issue_seal(Sm2PrivateKey.generate().public_key, "章", "某公司",
                                  uuid.uuid4()).certificate
    png = _png()
    der = AUTHORITY.make_seal(SealInfo(
        es_id="ABC123", name="某公司合同专用章", seal_type=1, picture_png=png, width_mm=42,
        height_mm=42, created_at=T0, valid_from=T0, valid_to=T0 + timedelta(days=700),
        ext_datas=(("2.25.1", b'{"seal_id":"x"}'),)), [signer.dump()])
    seal = gm.parse_seal(der)
    assert seal.maker_signature_ok()
    assert seal.header == ("ES", 4, "ESEAL") and seal.es_id == "ABC123"
    assert seal.certificates == [signer.dump()] and seal.picture == png
    assert seal.ext_datas == [("2.25.1", b'{"seal_id":"x"}')]
    assert gm.load_cert(seal.maker_cert).dump() == AUTHORITY.material.maker.dump()
