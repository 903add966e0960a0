"""Agreements, certificate subjects from identity's data, display masking, configuration."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime

import pytest
from certs.adapters.crypto.describe import display_name, normal_serial, parse_serial, serial_hex
from certs.adapters.crypto.keywrap import DEFAULT_KDF_PARAMS, TEST_KDF_PARAMS, MasterKey
from certs.adapters.sms import SandboxSms
from certs.bootstrap import Ports, create_app
from certs.config import CertsSettings, kdf_params, master_key
from certs.domain import AgentSubject, EnterpriseSubject, PersonSubject
from certs.domain.agreements import CURRENT_AGREEMENTS, require_all_accepted
from certs.domain.errors import AgreementsNotAccepted, IdentityIncomplete, UnknownAgreement
from certs.service_layer.crl import crl_reason
from certs.service_layer.ports import PrincipalRecord
from cryptography import x509
from cryptography.x509.oid import NameOID

ALL = [(a.code, a.version) for a in CURRENT_AGREEMENTS]


class RecordingSms:
    """Keeps messages in memory instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, datetime]] = []

    async def send(self, phone: str, text: str, sent_at: datetime) -> None:
        self.sent.append((phone, text, sent_at))


def test_all_current_agreements_must_be_accepted() -> None:
    assert require_all_accepted(reversed(ALL)) == ALL
    with pytest.raises(AgreementsNotAccepted) as info:
        require_all_accepted(ALL[1:])
    assert info.value.missing == ALL[:1] and info.value.status == 422
    with pytest.raises(AgreementsNotAccepted):
        require_all_accepted([(ALL[0][0], "1999-01"), *ALL[1:]])
    with pytest.raises(UnknownAgreement):
        require_all_accepted([*ALL, ("marketing", "1")])


def test_agreements_are_chinese_and_distinct() -> None:
    assert len({a.code for a in CURRENT_AGREEMENTS}) == len(CURRENT_AGREEMENTS)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in a.title + a.text) for a in CURRENT_AGREEMENTS)


def _record(role: str, **kw: object) -> PrincipalRecord:
    return PrincipalRecord.model_validate({"id": str(uuid.uuid4()), "role": role, "name": "张三",
                                           "phone": "13912345678", **kw})


def test_subjects_from_identity_data() -> None:
    person = _record("person", id_type="resident_id_card", id_number="11010519491231002X")
    assert person.subject() == PersonSubject("张三", "11010519491231002X")
    enterprise = _record("enterprise", name="某公司", enterprise_name="吉林省某公司",
                         enterprise_uscc="91220101MA0Y3XXXXA", legal_representative_name="李四",
                         surprise="ignored")
    assert enterprise.subject() == EnterpriseSubject("吉林省某公司", "91220101MA0Y3XXXXA")
    assert enterprise.owner_enterprise_id == enterprise.id
    agent = _record("agent", id_number="11010519491231002X", enterprise_id=str(uuid.uuid4()),
                    enterprise_name="吉林省某公司", enterprise_uscc="91220101MA0Y3XXXXA")
    assert agent.subject() == AgentSubject("张三", "11010519491231002X", "吉林省某公司",
                                           "91220101MA0Y3XXXXA")


def test_incomplete_identity_data_is_a_clear_error() -> None:
    with pytest.raises(IdentityIncomplete) as info:
        _record("person").subject()
    assert info.value.code == "identity_incomplete" and info.value.extra["missing"] == "id_number"
    with pytest.raises(IdentityIncomplete):
        _record("agent", id_number="1").subject()
    with pytest.raises(IdentityIncomplete):
        _record("person", phone=None).require_phone()


def test_display_masks_the_id_number_only() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "91220101MA0Y3XXXXA"),
                      x509.NameAttribute(NameOID.SERIAL_NUMBER, "11010519491231002X"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "张三")])
    shown = display_name(name)
    assert shown == ("CN=张三,serialNumber=**************002X,"
                     "organizationIdentifier=91220101MA0Y3XXXXA,C=CN")
    assert "11010519491231002X" in display_name(name, masked=False)
    assert parse_serial(serial_hex(0xABC123)) == 0xABC123 and serial_hex(255) == "FF"


def test_crl_reasons() -> None:
    assert crl_reason("key_compromise") is x509.ReasonFlags.key_compromise
    assert crl_reason("keyCompromise") is x509.ReasonFlags.key_compromise
    assert crl_reason("affiliation_changed") is x509.ReasonFlags.affiliation_changed
    assert crl_reason("印章作废") is x509.ReasonFlags.cessation_of_operation


def test_master_key_rules() -> None:
    dev = MasterKey.for_development()
    assert master_key(CertsSettings(env="development")).key_id == dev.key_id
    with pytest.raises(RuntimeError, match="required in production"):
        master_key(CertsSettings(env="production"))
    dev_b64 = base64.b64encode(hashlib.sha256(b"eseal-development-master-key").digest())
    with pytest.raises(RuntimeError, match="development key"):
        master_key(CertsSettings(env="production", master_key=dev_b64.decode()))
    real = base64.b64encode(bytes(range(32))).decode()
    assert master_key(CertsSettings(env="production", master_key=real)).key_id == \
        MasterKey(bytes(range(32))).key_id


def test_kdf_cost_rules() -> None:
    assert kdf_params(CertsSettings(env="test", test_fast_kdf=True)) == TEST_KDF_PARAMS
    assert kdf_params(CertsSettings(env="production")) == DEFAULT_KDF_PARAMS
    with pytest.raises(RuntimeError):
        kdf_params(CertsSettings(env="production", test_fast_kdf=True))
    tuned = kdf_params(CertsSettings(kdf_time_cost=3, kdf_memory_kib=65536))
    assert (tuned.time_cost, tuned.memory_cost) == (3, 65536)


def test_production_has_no_sandbox_endpoints() -> None:
    real = base64.b64encode(bytes(range(32))).decode()
    prod = create_app(CertsSettings(env="production", master_key=real), Ports(sms=RecordingSms()))
    paths = {r.resource.canonical for r in prod.router.routes() if r.resource is not None}
    assert "/api/v1/ca/crl" in paths
    assert not {p for p in paths if "sandbox" in p}
    dev = create_app(CertsSettings(env="test"))
    dev_paths = {r.resource.canonical for r in dev.router.routes() if r.resource is not None}
    assert {"/api/v1/sandbox/sms", "/internal/sandbox/clock"} <= dev_paths


def test_sandbox_sms_refuses_production() -> None:
    with pytest.raises(RuntimeError):
        SandboxSms(None, production=True)  # type: ignore[arg-type]


def test_a_serial_from_a_caller_is_normalised_or_refused() -> None:
    assert normal_serial("00ab12") == "AB12" and normal_serial("AB12") == "AB12"
    assert normal_serial("not-hex") == "" and normal_serial("") == ""
    assert normal_serial("1" * 65) == ""  # longer than any serial the platform issues
