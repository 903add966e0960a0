# mypy: disable-error-code="no-untyped-def,no-untyped-call,no-any-return,type-arg"
"""Test fixtures as code: an in-process PKI, a local DigestSigner, sample PDFs and a seal image.

For tests and benchmarks only (moved out of the stamping package: no test code ships in it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

from asn1crypto import cms, core
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from stamping.adapters.pdf.pki import as_asn1_cert

ROOT_CRL_URL = "http://crl.eseal.test/root.crl"
ISSUING_CRL_URL = "http://crl.eseal.test/issuing.crl"
A4 = (595.0, 842.0)


class LocalDigestSigner:
    """DigestSigner holding the key in memory (what an HSM adapter does remotely)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey):
        self._key = key
        self.calls = 0

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        if algorithm != "sha256" or len(digest) != 32:
            raise ValueError("only prehashed SHA-256 digests are signed")
        self.calls += 1
        return self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))


class CachedKeyDummyTimeStamper(DummyTimeStamper):
    """pyHanko's DummyTimeStamper with its RSA key parsed once.

    The stock class re-parses the key for every token, and `cryptography`'s RSA
    key validation costs ~70 ms here: that would swamp every timing we take.
    Same attributes and signature as the original ``_sign_tst_info``.
    """

    def __init__(self, *args, tsa_private_key: rsa.RSAPrivateKey, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded_key = tsa_private_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        hash_algo = getattr(hashes, md_algorithm.upper())()
        digest = hashes.Hash(hash_algo)
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._loaded_key.sign(signed_attrs.dump(), PKCS1v15(), hash_algo)
        return signature, signed_attrs


@dataclass
class TestPki:
    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey
    issuing_cert: x509.Certificate
    seal_key: ec.EllipticCurvePrivateKey
    seal_cert: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    tsa_cert: x509.Certificate
    root_crl: x509.CertificateRevocationList
    issuing_crl: x509.CertificateRevocationList

    __test__ = False  # not a pytest test class

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.seal_cert, self.issuing_cert, self.root_cert]

    @property
    def crls(self) -> list[x509.CertificateRevocationList]:
        return [self.root_crl, self.issuing_crl]

    def timestamper(self, fixed_dt: datetime | None = None) -> DummyTimeStamper:
        return CachedKeyDummyTimeStamper(
            tsa_private_key=self.tsa_key,
            tsa_cert=as_asn1_cert(self.tsa_cert),
            tsa_key=private_key_info(self.tsa_key),
            certs_to_embed=[as_asn1_cert(self.issuing_cert), as_asn1_cert(self.root_cert)],
            fixed_dt=fixed_dt,
        )

    def issue_crl(
        self, revoked_serials: dict[int, datetime], *, number: int = 2
    ) -> x509.CertificateRevocationList:
        return _crl(self.issuing_key, self.issuing_cert, revoked_serials, number)


def private_key_info(key) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def _name(cn: str, org: str = "eseal test platform", **extra: str) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
    ]
    if "uscc" in extra:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, extra["uscc"]))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _cert(
    subject: x509.Name,
    public_key,
    issuer_name: x509.Name,
    issuer_key,
    *,
    ca: bool,
    key_usage: dict[str, bool],
    crl_url: str | None,
    eku: list | None = None,
    not_before: datetime,
    days: int,
    issuer_public_key=None,
) -> x509.Certificate:
    ku = dict.fromkeys(
        [
            "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
        ],
        False,
    )
    ku.update(key_usage)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None if not ca else 1), critical=True)
        .add_extension(x509.KeyUsage(**ku), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key or issuer_key.public_key()),
            critical=False,
        )
    )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _crl(issuer_key, issuer_cert: x509.Certificate, revoked: dict[int, datetime], number: int):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=7))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    for serial, when in revoked.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(issuer_key, hashes.SHA256())


def build_test_pki(
    *,
    enterprise: str = "测试科技有限公司",
    uscc: str = "91110000MA00TEST0X",
    seal_name: str = "测试科技有限公司公章",
) -> TestPki:
    """Root CA → issuing CA → {seal cert (ECDSA P-256), TSA cert (RSA, DummyTimeStamper is RSA-only)}."""
    start = datetime.now(UTC) - timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("eseal test root CA")
    root_cert = _cert(
        root_name, root_key.public_key(), root_name, root_key,
        ca=True, key_usage={"key_cert_sign": True, "crl_sign": True}, crl_url=None,
        not_before=start, days=3650,
    )
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    issuing_name = _name("eseal test issuing CA")
    issuing_cert = _cert(
        issuing_name, issuing_key.public_key(), root_name, root_key,
        ca=True, key_usage={"key_cert_sign": True, "crl_sign": True}, crl_url=ROOT_CRL_URL,
        not_before=start, days=1825,
    )
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal_cert = _cert(
        _name(seal_name, org=enterprise, uscc=uscc), seal_key.public_key(), issuing_name, issuing_key,
        ca=False, key_usage={"digital_signature": True, "content_commitment": True},
        crl_url=ISSUING_CRL_URL, not_before=start, days=365,
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = _cert(
        _name("eseal test TSA"), tsa_key.public_key(), issuing_name, issuing_key,
        ca=False, key_usage={"digital_signature": True}, crl_url=ISSUING_CRL_URL,
        eku=[ExtendedKeyUsageOID.TIME_STAMPING], not_before=start, days=365,
    )
    return TestPki(
        root_key=root_key, root_cert=root_cert,
        issuing_key=issuing_key, issuing_cert=issuing_cert,
        seal_key=seal_key, seal_cert=seal_cert,
        tsa_key=tsa_key, tsa_cert=tsa_cert,
        root_crl=_crl(root_key, root_cert, {}, 1),
        issuing_crl=_crl(issuing_key, issuing_cert, {}, 1),
    )


def make_test_pdf(pages: int = 3, size: tuple[float, float] = A4, *, compress: bool = False) -> bytes:
    """A plain multi-page PDF with a line of black text per page ("Page N")."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    font_ref = writer.add_object(font)
    for n in range(1, pages + 1):
        text = b"BT /F1 24 Tf 72 %d Td (Page %d of the test document) Tj ET" % (int(size[1]) - 100, n)
        stream = generic.StreamObject(stream_data=text)
        if compress:
            stream.compress()
        resources = generic.DictionaryObject(
            {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font_ref})}
        )
        writer.insert_page(PageObject(writer.add_object(stream), (0, 0, size[0], size[1]), resources))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def make_seal_png(px: int = 400) -> bytes:
    """A red round seal with a star on a transparent background (no font needed)."""
    img = Image.new("RGBA", (px, px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    red = (220, 20, 30, 255)
    ring = max(2, px // 25)
    draw.ellipse((ring, ring, px - ring, px - ring), outline=red, width=ring)
    c, r = px / 2, px / 5
    star = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.4
        angle = -math.pi / 2 + i * math.pi / 5
        star.append((c + radius * math.cos(angle), c + radius * math.sin(angle)))
    draw.polygon(star, fill=red)
    out = BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
