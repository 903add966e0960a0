"""ASN.1 of GB/T 38540-2020 (V4) and GM/T 0031-2014 (V1) seals and signatures, for asn1crypto.

Field names follow the standards' ASN.1 (camelCase turned snake_case). Bit strings that carry
whole bytes (signatures, hashes) are OctetBitString so `.native` is bytes.
"""

# mypy: disable-error-code="misc"
# (asn1crypto ships no type information: its base classes are Any to mypy.)
from __future__ import annotations

from asn1crypto import core, x509


class SesHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class ExtData(core.Sequence):
    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SesPictureInfo(core.Sequence):
    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),  # millimetres of the real seal
        ("height", core.Integer),
    ]


# ---- V4 (GB/T 38540-2020) ----


class SesPropertyInfoV4(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),  # 1: certificates, 2: certificate digests
        ("cert_list", core.Any),  # CertInfoList or CertDigestList, chosen by cert_list_type
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class SesSealInfoV4(core.Sequence):
    _fields = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesPropertyInfoV4),
        ("picture", SesPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SeSealV4(core.Sequence):
    _fields = [
        ("e_seal_info", SesSealInfoV4),
        ("cert", core.OctetString),  # the seal maker's certificate (DER)
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TbsSignV4(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SeSealV4),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SesSignatureV4(core.Sequence):
    _fields = [
        ("to_sign", TbsSignV4),
        ("cert", core.OctetString),  # the signer's certificate (DER)
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


# ---- V1 (GM/T 0031-2014) ----


class SesPropertyInfoV1(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list", CertInfoList),
        ("create_date", x509.Time),  # UTCTime in the standard; GeneralizedTime seen in the wild
        ("valid_start", x509.Time),
        ("valid_end", x509.Time),
    ]


class SesSealInfoV1(core.Sequence):
    _fields = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesPropertyInfoV1),
        ("picture", SesPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SesSignInfoV1(core.Sequence):
    _fields = [
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
        ("sign_data", core.OctetBitString),
    ]


class SeSealV1(core.Sequence):
    _fields = [("e_seal_info", SesSealInfoV1), ("sign_info", SesSignInfoV1)]


class TbsSignV1(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SeSealV1),
        ("time_info", core.OctetBitString),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
    ]


class SesSignatureV1(core.Sequence):
    _fields = [("to_sign", TbsSignV1), ("signature", core.OctetBitString)]


class SealSignedContentV1(core.Sequence):
    """What the seal maker signs in V1: SEQUENCE { sealInfo, cert, signatureAlgorithm }."""

    _fields = [
        ("e_seal_info", core.Any),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
    ]
