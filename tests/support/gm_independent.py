"""An SM2 certificate / CRL / GB/T 38540 seal checker independent of ``shared.gm``.

Only bare ``asn1crypto`` (generic DER parsing) and ``gmalglib`` (the SM2 arithmetic), laid
out as the standards write the structures: GM/T 0015 certificates, RFC 5280 CRLs, and
GB/T 38540 ``SES_Seal`` V4 = SEQUENCE {eSealInfo, cert OCTET STRING, signAlgID OID,
signedValue BIT STRING} where the seal maker signs the DER of eSealInfo. Tests use it so a
mistake shared by the builder and the platform's own verifier cannot pass unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos, core, crl, pem, x509
from gmalglib.sm2 import SM2  # type: ignore[import-untyped]

SM2_WITH_SM3 = "1.2.156.10197.1.501"
SM2_CURVE = "1.2.156.10197.1.301"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
DEFAULT_UID = b"1234567812345678"


def _der(data: bytes) -> bytes:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data


def load_cert(data: bytes) -> x509.Certificate:
    return x509.Certificate.load(_der(data))


def sm2_point(cert: x509.Certificate) -> bytes:
    """The SM2 public key (04‖x‖y) after checking id-ecPublicKey + the SM2 curve by OID."""
    spki = core.Sequence.load(cert["tbs_certificate"]["subject_public_key_info"].dump())
    alg = core.Sequence.load(spki[0].dump())
    assert core.ObjectIdentifier.load(alg[0].dump()).dotted == EC_PUBLIC_KEY
    assert core.ObjectIdentifier.load(alg[1].dump()).dotted == SM2_CURVE
    bits = core.BitString.load(spki[1].dump())
    point = bytes(bits.contents[1:])  # first content byte: unused bits (0)
    assert len(point) == 65 and point[0] == 4
    return point


def sm2_verify(point: bytes, message: bytes, signature_der: bytes) -> bool:
    sig = algos.DSASignature.load(signature_der)
    raw = int(sig["r"].native).to_bytes(32, "big") + int(sig["s"].native).to_bytes(32, "big")
    return bool(SM2(pk=point, uid=DEFAULT_UID).verify(message, raw))


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """SM2-with-SM3 signature of ``cert``'s TBS under ``issuer``'s key, names matching."""
    outer = core.Sequence.load(cert.dump())
    tbs_der = outer[0].dump()
    alg = core.Sequence.load(outer[1].dump())
    if core.ObjectIdentifier.load(alg[0].dump()).dotted != SM2_WITH_SM3:
        return False
    if cert["tbs_certificate"]["issuer"].dump() != issuer["tbs_certificate"]["subject"].dump():
        return False
    signature = bytes(core.BitString.load(outer[2].dump()).contents[1:])
    return sm2_verify(sm2_point(issuer), tbs_der, signature)


def chains(cert: x509.Certificate, issuing: x509.Certificate, root: x509.Certificate) -> bool:
    return signed_by(cert, issuing) and signed_by(issuing, root) and signed_by(root, root)


def crl_verifies(der: bytes, issuer: x509.Certificate) -> bool:
    outer = core.Sequence.load(der)
    alg = core.Sequence.load(outer[1].dump())
    signature = bytes(core.BitString.load(outer[2].dump()).contents[1:])
    return (core.ObjectIdentifier.load(alg[0].dump()).dotted == SM2_WITH_SM3
            and sm2_verify(sm2_point(issuer), outer[0].dump(), signature))


def crl_serials(der: bytes) -> set[int]:
    revoked = crl.CertificateList.load(der)["tbs_cert_list"]["revoked_certificates"]
    return {int(r["user_certificate"].native) for r in revoked}


@dataclass(frozen=True)
class ParsedSeal:
    header: tuple[str, int, str]
    es_id: str
    seal_type: int
    name: str
    cert_list_type: int
    certificates: list[bytes]
    created: datetime
    valid_from: datetime
    valid_to: datetime
    picture_type: str
    picture: bytes
    width_mm: int
    height_mm: int
    ext_datas: list[tuple[str, bytes]]
    maker_cert: bytes
    algorithm: str
    signed_info: bytes
    signature: bytes

    def maker_signature_ok(self) -> bool:
        return self.algorithm == SM2_WITH_SM3 and sm2_verify(
            sm2_point(load_cert(self.maker_cert)), self.signed_info, self.signature)


def _seq(value: core.Asn1Value) -> core.Sequence:
    return core.Sequence.load(value.dump())


def _items(value: core.Asn1Value) -> list[core.Asn1Value]:
    seq = _seq(value)
    return [seq[i] for i in range(len(seq))]


def parse_seal(der: bytes) -> ParsedSeal:
    """GB/T 38540-2020 §7.1 SES_Seal V4, read field by field."""
    outer = core.Sequence.load(der)
    assert len(outer) == 4
    info = _seq(outer[0])
    header = _seq(info[0])
    prop = _seq(info[2])
    picture = _seq(info[3])
    certs = [bytes(core.OctetString.load(c.dump()).native) for c in _items(prop[3])]
    exts = []
    if len(info) > 4:
        for ext in _items(info[4]):
            e = _seq(ext)
            exts.append((core.ObjectIdentifier.load(e[0].dump()).dotted,
                         bytes(core.OctetString.load(e[-1].dump()).native)))
    return ParsedSeal(
        header=(core.IA5String.load(header[0].dump()).native,
                int(core.Integer.load(header[1].dump()).native),
                core.IA5String.load(header[2].dump()).native),
        es_id=core.IA5String.load(info[1].dump()).native,
        seal_type=int(core.Integer.load(prop[0].dump()).native),
        name=core.UTF8String.load(prop[1].dump()).native,
        cert_list_type=int(core.Integer.load(prop[2].dump()).native),
        certificates=certs,
        created=core.GeneralizedTime.load(prop[4].dump()).native,
        valid_from=core.GeneralizedTime.load(prop[5].dump()).native,
        valid_to=core.GeneralizedTime.load(prop[6].dump()).native,
        picture_type=core.IA5String.load(picture[0].dump()).native,
        picture=bytes(core.OctetString.load(picture[1].dump()).native),
        width_mm=int(core.Integer.load(picture[2].dump()).native),
        height_mm=int(core.Integer.load(picture[3].dump()).native),
        ext_datas=exts,
        maker_cert=bytes(core.OctetString.load(outer[1].dump()).native),
        algorithm=core.ObjectIdentifier.load(outer[2].dump()).dotted,
        signed_info=outer[0].dump(),
        signature=bytes(core.BitString.load(outer[3].dump()).contents[1:]),
    )
