"""GB/T 38540-2020 seals (SES_Seal V4) and seal signatures (SES_Signature V4); V1 read-only.

What is signed, as two independent producers (ofdrw and a provincial seal-making system)
lay it out and as the verifiers in the field expect:
- the seal maker signs the DER of ``SES_SealInfo`` (V4); V1 (GM/T 0031) signs
  ``SEQUENCE {sealInfo, cert, signatureAlgorithm}``;
- the signer signs the DER of ``TBS_Sign``; ``dataHash`` = SM3 of the signed data (for OFD:
  the bytes of ``Signature.xml``); ``propertyInfo`` names it (for OFD: its path).
Signatures are DER ``SEQUENCE {r, s}``; a bare 64-byte ``r || s``, written by some vendors,
is accepted when verifying and never produced.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from asn1crypto import cms, core, tsp

from shared.gm import oids
from shared.gm.errors import GmError, MalformedData, UnsupportedAlgorithm
from shared.gm.ses_asn1 import (
    CertDigestList,
    CertInfoList,
    ExtensionDatas,
    SealSignedContentV1,
    SeSealV1,
    SeSealV4,
    SesSealInfoV4,
    SesSignatureV1,
    SesSignatureV4,
    TbsSignV4,
)
from shared.gm.sm2 import Sm2PrivateKey, Sm2PublicKey, signature_raw_to_der
from shared.gm.sm3 import sm3
from shared.gm.x509 import load_certificate, public_key_of

VERSION_V4 = 4
CERT_LIST = 1
CERT_DIGEST_LIST = 2
MAX_DER = 8 * 1024 * 1024  # a seal with a picture is tens of KB; refuse absurd inputs early


@dataclass(frozen=True)
class SealPicture:
    type: str  # "PNG", "JPG", "GIF", "SVG", "OFD"
    data: bytes = field(repr=False)
    width_mm: int
    height_mm: int


@dataclass(frozen=True)
class Seal:
    """A parsed seal (V4 or V1); ``der`` is exactly what was read."""

    version: int
    vendor_id: str
    es_id: str
    seal_type: int
    name: str
    cert_list_type: int
    signer_certificates: tuple[bytes, ...]  # DER, when cert_list_type == 1
    signer_cert_digests: tuple[tuple[str, bytes], ...]  # (algorithm label, digest), type 2
    created_at: datetime
    valid_from: datetime
    valid_to: datetime
    picture: SealPicture
    maker_certificate: bytes
    signature_algorithm: str
    signature: bytes = field(repr=False)
    signed_content: bytes = field(repr=False)
    der: bytes = field(repr=False)

    def allows(self, certificate_der: bytes) -> bool:
        """Is this signer certificate one the seal lists (by value or by SM3 digest)?"""
        if self.cert_list_type == CERT_LIST:
            return certificate_der in self.signer_certificates
        digest = sm3(certificate_der)
        return any(label.upper() == "SM3" and value == digest for label, value in self.signer_cert_digests)

    def is_valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at <= self.valid_to


@dataclass(frozen=True)
class SesSignature:
    version: int
    seal: Seal
    signed_at: datetime | None  # V1 carries an opaque time bit string
    data_hash: bytes
    property_info: str
    signer_certificate: bytes
    signature_algorithm: str
    signature: bytes = field(repr=False)
    timestamp: bytes | None = field(repr=False)
    tbs: bytes = field(repr=False)


@dataclass(frozen=True)
class SignatureCheck:
    """Each check apart, so a verifier can say *what* failed."""

    data_hash_ok: bool
    signature_ok: bool
    seal_signature_ok: bool
    signer_listed_in_seal: bool
    # None: no timestamp. True/False: the token's message imprint does (not) cover the
    # signature value. The TSA's own signature and trust are the caller's to check.
    timestamp_imprint_ok: bool | None = None

    @property
    def ok(self) -> bool:
        return (
            self.data_hash_ok
            and self.signature_ok
            and self.seal_signature_ok
            and self.signer_listed_in_seal
            and self.timestamp_imprint_ok is not False
        )


def _load(cls: type[core.Sequence], der: bytes, what: str) -> core.Sequence:
    if len(der) > MAX_DER:
        raise MalformedData(f"{what} too large")
    try:
        value = cls.load(der, strict=True)
        _ = value.native  # parse everything now: lazy errors must not surface inside verifiers
        return value
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        raise MalformedData(f"{what} is not a valid structure: {e}") from None


def _seal_version(der: bytes) -> int:
    try:
        outer = core.Sequence.load(der, strict=True)
        n = len(outer)
        header = core.Sequence.load(outer[0].dump())
        version = int(core.Sequence.load(header[0].dump())[1].native)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        raise MalformedData(f"seal is not a valid structure: {e}") from None
    if n == 4 and version == 4:
        return 4
    if n == 2 and version in (1, 2, 3):
        return 1
    raise MalformedData(f"unknown seal layout (fields={n}, version={version})")


def parse_seal(der: bytes) -> Seal:
    """Parse a seal; results are cached by content (seals are public, immutable, reused on
    every stamp with the same seal)."""
    if len(der) > MAX_DER:
        raise MalformedData("seal too large")
    return _parse_seal_cached(bytes(der))


@functools.lru_cache(maxsize=128)
def _parse_seal_cached(der: bytes) -> Seal:
    if len(der) > MAX_DER:
        raise MalformedData("seal too large")
    version = _seal_version(der)
    if version == 4:
        s = _load(SeSealV4, der, "SES_Seal")
        info, prop = s["e_seal_info"], s["e_seal_info"]["property"]
        list_type = int(prop["cert_list_type"].native)
        certs: tuple[bytes, ...] = ()
        digests: tuple[tuple[str, bytes], ...] = ()
        raw_list = prop["cert_list"].dump()
        try:
            if list_type == CERT_LIST:
                certs = tuple(bytes(c.native) for c in CertInfoList.load(raw_list, strict=True))
            elif list_type == CERT_DIGEST_LIST:
                digests = tuple(
                    (str(d["type"].native), bytes(d["value"].native))
                    for d in CertDigestList.load(raw_list, strict=True)
                )
            else:
                raise MalformedData(f"unknown certListType {list_type}")
        except (ValueError, TypeError) as e:
            raise MalformedData(f"certList unreadable: {e}") from None
        maker_cert, alg, sig = (
            bytes(s["cert"].native),
            s["sign_alg_id"].dotted,
            bytes(s["signed_value"].native),
        )
        signed_content = info.dump()
    else:
        s = _load(SeSealV1, der, "SES_Seal V1")
        info, prop, sign_info = s["e_seal_info"], s["e_seal_info"]["property"], s["sign_info"]
        list_type, digests = CERT_LIST, ()
        certs = tuple(bytes(c.native) for c in prop["cert_list"])
        maker_cert = bytes(sign_info["cert"].native)
        alg, sig = sign_info["signature_algorithm"].dotted, bytes(sign_info["sign_data"].native)
        signed_content = SealSignedContentV1(
            {"e_seal_info": core.Any.load(info.dump()), "cert": maker_cert, "signature_algorithm": alg}
        ).dump()
    pic = info["picture"]
    return Seal(
        version=version,
        vendor_id=str(info["header"]["vid"].native),
        es_id=str(info["es_id"].native),
        seal_type=int(prop["type"].native),
        name=str(prop["name"].native),
        cert_list_type=list_type,
        signer_certificates=certs,
        signer_cert_digests=digests,
        created_at=prop["create_date"].native,
        valid_from=prop["valid_start"].native,
        valid_to=prop["valid_end"].native,
        picture=SealPicture(
            str(pic["type"].native),
            bytes(pic["data"].native),
            int(pic["width"].native),
            int(pic["height"].native),
        ),
        maker_certificate=maker_cert,
        signature_algorithm=alg,
        signature=sig,
        signed_content=signed_content,
        der=der,
    )


def _sm2_verify(public_key: Sm2PublicKey, message: bytes, signature: bytes) -> bool:
    if public_key.verify(message, signature):
        return True
    if len(signature) == 64:  # bare r || s, as some vendors write it
        try:
            return public_key.verify(message, signature_raw_to_der(signature))
        except MalformedData:
            return False
    return False


@functools.lru_cache(maxsize=256)
def _certificate_key(der: bytes) -> Sm2PublicKey | None:
    try:
        return public_key_of(load_certificate(der))
    except GmError:
        return None  # unreadable, non-SM2 or off-curve key: reported as a failed check


def verify_seal(seal: Seal) -> bool:
    """The seal maker's signature over the seal (not the maker's chain: callers check that)."""
    if seal.signature_algorithm != oids.SM2_WITH_SM3:
        return False
    key = _certificate_key(seal.maker_certificate)
    return key is not None and _sm2_verify(key, seal.signed_content, seal.signature)


def make_seal(
    *,
    es_id: str,
    name: str,
    seal_type: int,
    signer_certificates: Sequence[bytes],
    valid_from: datetime,
    valid_to: datetime,
    picture: SealPicture,
    maker_key: Sm2PrivateKey,
    maker_certificate: bytes,
    vendor_id: str = "ESEAL",
    created_at: datetime | None = None,
    cert_list_type: int = CERT_LIST,
    ext_datas: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """A V4 SES_Seal listing ``signer_certificates`` (DER), signed by the seal maker.
    ``cert_list_type=2`` lists their SM3 digests instead of the certificates.
    ``ext_datas``: ``(oid, value)`` pairs for the optional ``extDatas`` (not critical)."""
    maker = load_certificate(maker_certificate)
    if public_key_of(maker) != maker_key.public_key:
        raise ValueError("seal maker key does not belong to the seal maker certificate")
    if not signer_certificates:
        raise ValueError("a seal must list at least one signer certificate")
    if not (es_id.isascii() and vendor_id.isascii() and picture.type.isascii()):
        raise ValueError("esID, vendor id and picture type are IA5 strings (ASCII)")
    if valid_to <= valid_from:
        raise ValueError("seal validity ends before it starts")
    cert_list: core.SequenceOf
    if cert_list_type == CERT_LIST:
        cert_list = CertInfoList([core.OctetString(c) for c in signer_certificates])
    elif cert_list_type == CERT_DIGEST_LIST:
        cert_list = CertDigestList([{"type": "SM3", "value": sm3(c)} for c in signer_certificates])
    else:
        raise ValueError("certListType is 1 (certificates) or 2 (digests)")
    info: dict[str, object] = {
        "header": {"id": "ES", "version": VERSION_V4, "vid": vendor_id},
        "es_id": es_id,
        "property": {
            "type": seal_type,
            "name": name,
            "cert_list_type": cert_list_type,
            "cert_list": core.Any.load(cert_list.dump()),
            "create_date": _gt(created_at or datetime.now(UTC)),
            "valid_start": _gt(valid_from),
            "valid_end": _gt(valid_to),
        },
        "picture": {
            "type": picture.type,
            "data": picture.data,
            "width": picture.width_mm,
            "height": picture.height_mm,
        },
    }
    if ext_datas:
        info["ext_datas"] = [{"extn_id": oid, "critical": False, "extn_value": value}
                             for oid, value in ext_datas]
    seal_info = SesSealInfoV4(info)
    seal = SeSealV4(
        {
            "e_seal_info": seal_info,
            "cert": maker_certificate,
            "sign_alg_id": oids.SM2_WITH_SM3,
            "signed_value": maker_key.sign(seal_info.dump()),
        }
    )
    return bytes(seal.dump())


def _gt(dt: datetime) -> datetime:
    """GeneralizedTime in UTC, whole seconds (DER forbids a zero fraction)."""
    return dt.astimezone(UTC).replace(microsecond=0)


def parse_signature(der: bytes) -> SesSignature:
    if len(der) > MAX_DER:
        raise MalformedData("SES_Signature too large")
    try:
        n = len(core.Sequence.load(der, strict=True))
    except (ValueError, TypeError) as e:
        raise MalformedData(f"SES_Signature is not DER: {e}") from None
    if n in (4, 5):
        s = _load(SesSignatureV4, der, "SES_Signature")
        tbs = s["to_sign"]
        ts = s["time_stamp"]
        return SesSignature(
            version=int(tbs["version"].native),
            seal=parse_seal(tbs["eseal"].dump()),
            signed_at=tbs["time_info"].native,
            data_hash=bytes(tbs["data_hash"].native),
            property_info=str(tbs["property_info"].native),
            signer_certificate=bytes(s["cert"].native),
            signature_algorithm=s["signature_alg_id"].dotted,
            signature=bytes(s["signature"].native),
            timestamp=bytes(ts.native) if ts.native is not None else None,
            tbs=tbs.dump(),
        )
    if n == 2:
        s = _load(SesSignatureV1, der, "SES_Signature V1")
        tbs = s["to_sign"]
        return SesSignature(
            version=int(tbs["version"].native),
            seal=parse_seal(tbs["eseal"].dump()),
            signed_at=None,
            data_hash=bytes(tbs["data_hash"].native),
            property_info=str(tbs["property_info"].native),
            signer_certificate=bytes(tbs["cert"].native),
            signature_algorithm=tbs["signature_algorithm"].dotted,
            signature=bytes(s["signature"].native),
            timestamp=None,
            tbs=tbs.dump(),
        )
    raise MalformedData(f"unknown SES_Signature layout ({n} fields)")


def verify_signature(signature: SesSignature, signed_data: bytes) -> SignatureCheck:
    """Check the data hash, the signer's SM2 signature, the seal maker's signature, and that
    the seal lists the signer. Certificate chains, validity dates and revocation are the
    caller's (they depend on the trust anchors and the time of use)."""
    key = _certificate_key(signature.signer_certificate)
    sig_ok = (
        key is not None
        and signature.signature_algorithm == oids.SM2_WITH_SM3
        and _sm2_verify(key, signature.tbs, signature.signature)
    )
    return SignatureCheck(
        data_hash_ok=sm3(signed_data) == signature.data_hash,
        signature_ok=sig_ok,
        seal_signature_ok=verify_seal(signature.seal),
        signer_listed_in_seal=signature.seal.allows(signature.signer_certificate),
        timestamp_imprint_ok=(
            None
            if signature.timestamp is None
            else timestamp_covers(signature.timestamp, signature.signature)
        ),
    )


_IMPRINT_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha256": lambda d: hashlib.sha256(d).digest(),
    "sha384": lambda d: hashlib.sha384(d).digest(),
    "sha512": lambda d: hashlib.sha512(d).digest(),
    oids.SM3: sm3,
}


def timestamp_covers(token: bytes, signature_value: bytes) -> bool:
    """Does this RFC 3161 token (ContentInfo/SignedData/TSTInfo) time-stamp exactly
    ``signature_value`` (GB/T 38540: the timestamp is over the signature value)?"""
    try:
        info = cms.ContentInfo.load(token, strict=True)
        if info["content_type"].dotted != "1.2.840.113549.1.7.2":  # signedData
            return False
        encap = info["content"]["encap_content_info"]
        if encap["content_type"].dotted != "1.2.840.113549.1.9.16.1.4":  # id-ct-TSTInfo
            return False
        tst = tsp.TSTInfo.load(bytes(encap["content"].contents))
        imprint = tst["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"]
        name = algorithm.native if algorithm.native in _IMPRINT_HASHES else algorithm.dotted
        digest = _IMPRINT_HASHES.get(name)
        return digest is not None and bytes(imprint["hashed_message"].native) == digest(signature_value)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


TimestampFn = Callable[[bytes], bytes]


class Sm2Signer(Protocol):
    """Anything that signs with SM2-with-SM3 (default user ID) and returns DER: a local
    :class:`Sm2PrivateKey`, or an adapter to the signing service that custodies the key."""

    @property
    def public_key(self) -> Sm2PublicKey: ...

    def sign(self, message: bytes) -> bytes: ...


def build_tbs_sign(
    *,
    seal_der: bytes,
    signed_data: bytes,
    property_info: str,
    signer_certificate: bytes,
    signed_at: datetime | None = None,
) -> bytes:
    """The DER of a V4 TBS_Sign: what the signer's key must sign (step 1 of 2)."""
    seal = parse_seal(seal_der)
    if seal.version != VERSION_V4:
        raise UnsupportedAlgorithm("only V4 seals can be used to sign")
    if _certificate_key(bytes(signer_certificate)) is None:
        raise UnsupportedAlgorithm("signer certificate is not an SM2 certificate")
    if not seal.allows(signer_certificate):
        raise ValueError("the seal does not list this signer certificate")
    if not property_info.isascii():
        raise ValueError("propertyInfo is an IA5 string (ASCII)")
    tbs = TbsSignV4(
        {
            "version": VERSION_V4,
            "eseal": SeSealV4.load(seal_der),
            "time_info": _gt(signed_at or datetime.now(UTC)),
            "data_hash": sm3(signed_data),
            "property_info": property_info,
        }
    )
    return bytes(tbs.dump())


def assemble_signature(
    *, tbs_der: bytes, signer_certificate: bytes, signature: bytes, timestamp_token: bytes | None = None
) -> bytes:
    """The V4 SES_Signature (step 2 of 2). Refuses a signature that does not verify under
    the certificate, so a faulty remote signer can never yield a broken document."""
    key = _certificate_key(bytes(signer_certificate))
    if key is None or not key.verify(tbs_der, signature):
        raise ValueError("signature does not verify under the signer certificate")
    fields: dict[str, object] = {
        "to_sign": TbsSignV4.load(tbs_der),
        "cert": signer_certificate,
        "signature_alg_id": oids.SM2_WITH_SM3,
        "signature": signature,
    }
    if timestamp_token is not None:
        fields["time_stamp"] = timestamp_token
    return bytes(SesSignatureV4(fields).dump())


def sign(
    *,
    seal_der: bytes,
    signed_data: bytes,
    property_info: str,
    signer_key: Sm2Signer,
    signer_certificate: bytes,
    signed_at: datetime | None = None,
    timestamp: TimestampFn | None = None,
) -> bytes:
    """A V4 SES_Signature over ``signed_data`` (for OFD: the bytes of Signature.xml).

    ``timestamp`` receives the signature value and returns an RFC 3161 token (DER), stored in
    the optional ``timeStamp`` field as GB/T 38540 provides.
    """
    if _certificate_key(bytes(signer_certificate)) != signer_key.public_key:
        raise ValueError("signer key does not belong to the signer certificate")
    tbs = build_tbs_sign(
        seal_der=seal_der,
        signed_data=signed_data,
        property_info=property_info,
        signer_certificate=signer_certificate,
        signed_at=signed_at,
    )
    value = signer_key.sign(tbs)
    return assemble_signature(
        tbs_der=tbs,
        signer_certificate=signer_certificate,
        signature=value,
        timestamp_token=timestamp(value) if timestamp is not None else None,
    )


__all__ = [
    "ExtensionDatas",
    "Seal",
    "SealPicture",
    "SesSignature",
    "SignatureCheck",
    "Sm2Signer",
    "assemble_signature",
    "build_tbs_sign",
    "make_seal",
    "parse_seal",
    "parse_signature",
    "sign",
    "timestamp_covers",
    "verify_seal",
    "verify_signature",
]
