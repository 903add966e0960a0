"""gm: the national-cryptography library in-process, the baselines for OFD stamping.

Figures (no platform needed; the gateway path against a raw baseline is bench_ofd.py):
- raw SM2-with-SM3 signing with gmalglib over a 32-byte message: signatures/s (baseline);
- raw SES_Signature V4 assembly for the same 5-page OFD (SM3 of Signature.xml, TBS_Sign,
  SM2 signature, DER): signatures/s;
- ``stamp_ofd`` of a 5-page OFD in-process (read, check values of every part, Signature.xml,
  SES_Signature, new ZIP): stamps/s, ratio to the raw assembly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gmalglib

from shared.gm.oids import SM2_WITH_SM3
from shared.gm.ses import SealPicture, make_seal, sign
from shared.gm.ses_asn1 import SeSealV4, SesSignatureV4, TbsSignV4
from shared.gm.sm2 import Sm2PrivateKey, signature_raw_to_der
from shared.gm.sm3 import sm3
from shared.gm.x509 import (
    create_issuing_ca,
    create_root,
    issue_person_certificate,
    issue_seal_maker_certificate,
)

from .common import Report

SECONDS = 2.0
PAGE5 = Path(__file__).resolve().parents[1] / "services/stamping/tests/vectors/ofdrw/Page5.ofd"


def _rate(fn: Callable[[], object]) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


async def run(report: Report) -> None:
    from stamping.adapters.ofd import LocalOfdSigner, stamp_ofd

    root_key, ca_key, maker_key, person_key = (Sm2PrivateKey.generate() for _ in range(4))
    root = create_root(root_key, {"common_name": "bench root"})
    ca = create_issuing_ca(ca_key.public_key, {"common_name": "bench ca"}, root, root_key)
    maker = issue_seal_maker_certificate(maker_key.public_key, organization="bench", ca=ca, ca_key=ca_key)
    person = issue_person_certificate(
        person_key.public_key, name="bench", person_id="b", ca=ca, ca_key=ca_key
    )
    now = datetime.now(UTC)
    seal = make_seal(
        es_id="bench",
        name="bench seal",
        seal_type=1,
        signer_certificates=[person.dump()],
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=1),
        picture=SealPicture("PNG", b"\x89PNG" + os.urandom(12_000), 40, 40),
        maker_key=maker_key,
        maker_certificate=maker.dump(),
    )
    document = PAGE5.read_bytes()
    signature_xml = os.urandom(2_000)  # a Signature.xml-sized input
    raw_key = gmalglib.sm2.SM2(sk=person_key.secret, rnd_fn=os.urandom)

    raw = _rate(lambda: raw_key.sign(os.urandom(32)))
    report.add("raw gmalglib SM2 signing", raw, "sig/s")
    seal_obj, cert_der = SeSealV4.load(seal), person.dump()

    def raw_assembly() -> bytes:
        # The bare minimum the standard needs: TBS_Sign, one SM2 signature, SES_Signature.
        tbs = TbsSignV4(
            {
                "version": 4,
                "eseal": seal_obj,
                "time_info": datetime.now(UTC).replace(microsecond=0),
                "data_hash": sm3(signature_xml),
                "property_info": "/Doc_0/Signs/Sign_0/Signature.xml",
            }
        ).dump()
        value = signature_raw_to_der(raw_key.sign(tbs))
        return bytes(
            SesSignatureV4(
                {
                    "to_sign": TbsSignV4.load(tbs),
                    "cert": cert_der,
                    "signature_alg_id": SM2_WITH_SM3,
                    "signature": value,
                }
            ).dump()
        )

    ses = _rate(raw_assembly)
    report.add("raw SES_Signature V4 assembly", ses, "sig/s", baseline_name="raw SM2", baseline_value=raw)
    checked = _rate(
        lambda: sign(
            seal_der=seal,
            signed_data=signature_xml,
            property_info="/Doc_0/Signs/Sign_0/Signature.xml",
            signer_key=person_key,
            signer_certificate=cert_der,
        )
    )
    report.add(
        "shared.gm.ses.sign (with its checks)",
        checked,
        "sig/s",
        baseline_name="raw assembly",
        baseline_value=ses,
    )
    signer = LocalOfdSigner(person_key, person.dump())
    stamped = _rate(lambda: stamp_ofd(document, seal, signer, 1, 10, 10, 40, 40))
    report.add(
        "stamp_ofd 5-page OFD in-process",
        ses / stamped,
        "× slower",
        goal="gateway path ≤ 2× raw assembly (KDF apart)",
    )
    report.add("stamp_ofd 5-page OFD in-process (rate)", stamped, "stamps/s")
