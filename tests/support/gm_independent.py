"""An SM2 certificate / CRL / GB/T 38540 seal checker independent of ``shared.gm``.

Only bare ``asn1crypto`` (generic DER parsing) and ``gmalglib`` (the SM2 arithmetic), laid
out as the standards write the structures: GM/T 0015 certificates, RFC 5280 CRLs, and
GB/T 38540 ``SES_Seal`` V4 = SEQUENCE {eSealInfo, cert OCTET STRING, signAlgID OID,
signedValue BIT STRING} where the seal maker signs the DER of eSealInfo. Tests use it so a
mistake shared by the builder and the platform's own verifier cannot pass unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import algos, core, crl, parser, pem, x509
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


# GB/T 38540 §7.2 SES_Signature V4 and an OFD's signatures (GB/T 33190 §18) ----------------


def sm3(data: bytes) -> bytes:
    from gmalglib.sm3 import SM3 as _SM3  # type: ignore[import-untyped]

    h = _SM3()
    h.update(data)
    return bytes(h.digest())


@dataclass(frozen=True)
class ParsedSignature:
    version: int
    seal: ParsedSeal
    time_info: datetime
    data_hash: bytes
    property_info: str
    signer_cert: bytes
    algorithm: str
    to_sign: bytes  # DER of TBS_Sign: what the signer's key signed
    signature: bytes
    timestamp: bytes | None

    def signature_ok(self) -> bool:
        return self.algorithm == SM2_WITH_SM3 and sm2_verify(
            sm2_point(load_cert(self.signer_cert)), self.to_sign, self.signature)


def parse_signature(der: bytes) -> ParsedSignature:
    """SES_Signature ::= SEQUENCE {toSign TBS_Sign, cert OCTET STRING, signatureAlgorithm OID,
    signature BIT STRING, timeStamp [0] EXPLICIT BIT STRING OPTIONAL};
    TBS_Sign ::= SEQUENCE {version INTEGER, eseal SESeal, timeInfo GeneralizedTime,
    dataHash BIT STRING, propertyInfo IA5String, extDatas OPTIONAL}."""
    parts = _children(der)  # (class, tag, full DER) per element
    assert len(parts) in (4, 5) and all(c == 0 for c, _, _ in parts[:4])
    tbs = _seq(core.Sequence.load(parts[0][2]))
    timestamp = None
    if len(parts) == 5:
        cls, tag, full = parts[4]
        assert (cls, tag) == (2, 0)  # [0] EXPLICIT
        inner = parser.parse(full)[4]  # the BIT STRING inside the explicit tag
        timestamp = bytes(core.BitString.load(inner).contents[1:])
    return ParsedSignature(
        version=int(core.Integer.load(tbs[0].dump()).native),
        seal=parse_seal(tbs[1].dump()),
        time_info=core.GeneralizedTime.load(tbs[2].dump()).native,
        data_hash=bytes(core.BitString.load(tbs[3].dump()).contents[1:]),
        property_info=core.IA5String.load(tbs[4].dump()).native,
        signer_cert=bytes(core.OctetString.load(parts[1][2]).native),
        algorithm=core.ObjectIdentifier.load(parts[2][2]).dotted,
        to_sign=parts[0][2],
        signature=bytes(core.BitString.load(parts[3][2]).contents[1:]),
        timestamp=timestamp,
    )


def _children(der: bytes) -> list[tuple[int, int, bytes]]:
    """The elements of a DER SEQUENCE as (class, tag, their full DER), any tags allowed."""
    _, _, _, _, contents, _ = parser.parse(der)
    out, pointer = [], 0
    while pointer < len(contents):
        cls, _, tag, header, body, trailer = parser.parse(contents[pointer:], strict=False)
        size = len(header) + len(body) + len(trailer)
        out.append((cls, tag, contents[pointer:pointer + size]))
        pointer += size
    return out


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class OfdStamp:
    """One StampAnnot (GB/T 33190 §18.2.2) as read independently: the page it names (1-based
    index in Document.xml, None when PageRef names no page), its Boundary and Clip (mm; the
    Clip relative to the Boundary's top-left corner, as ofdrw renders it), and the part of
    the page that shows the seal (Boundary, or Boundary moved by Clip)."""

    page: int | None
    page_size: tuple[float, float] | None
    boundary: Box
    clip: Box | None

    @property
    def visible(self) -> Box:
        x, y, w, h = self.boundary
        if self.clip is None:
            return self.boundary
        cx, cy, cw, ch = self.clip
        return (x + cx, y + cy, cw, ch)

    @property
    def ok(self) -> bool:
        """On a page of the document, what shows lies on it, a Clip lies inside the Boundary."""
        if self.page is None or self.page_size is None:
            return False
        eps = 1e-3
        _, _, w, h = self.boundary
        if w <= 0 or h <= 0:
            return False
        if self.clip is not None:
            cx, cy, cw, ch = self.clip
            if cw <= 0 or ch <= 0 or cx < -eps or cy < -eps or cx + cw > w + eps or cy + ch > h + eps:
                return False
        vx, vy, vw, vh = self.visible
        pw, ph = self.page_size
        return vx >= -eps and vy >= -eps and vx + vw <= pw + eps and vy + vh <= ph + eps


@dataclass(frozen=True)
class OfdSignatureCheck:
    signature_xml_path: str
    references_ok: bool
    failed_references: list[str]
    data_hash_ok: bool
    signature_ok: bool
    seal_ok: bool  # the maker's signature, the signer listed, Seal.esl == the embedded seal
    signature: ParsedSignature | None
    stamps: list[OfdStamp] = field(default_factory=list)  # every StampAnnot, in document order

    @property
    def ok(self) -> bool:
        return (self.references_ok and self.data_hash_ok and self.signature_ok and self.seal_ok
                and all(s.ok for s in self.stamps))


def check_ofd(data: bytes) -> list[OfdSignatureCheck]:
    """Every signature of an OFD as GB/T 33190 and GB/T 38540 lay it out, with zipfile, the
    standard library's XML parser, asn1crypto and gmalglib only."""
    import base64
    import io
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    ns = {"ofd": "http://www.ofdspec.org/2016"}
    z = zipfile.ZipFile(io.BytesIO(data))

    def read(loc: str, base: str) -> bytes:
        path = loc.lstrip("/") if loc.startswith("/") else posixpath.normpath(posixpath.join(base, loc))
        return z.read(path)

    ofd_xml = ElementTree.fromstring(z.read("OFD.xml"))
    sigs_loc = ofd_xml.find("ofd:DocBody/ofd:Signatures", ns)
    assert sigs_loc is not None and sigs_loc.text, "OFD.xml names no Signatures.xml"
    sigs_path = sigs_loc.text.strip().lstrip("/")
    sigs = ElementTree.fromstring(z.read(sigs_path))
    pages = _ofd_pages(z, ofd_xml)
    out = []
    for entry in sigs.findall("ofd:Signature", ns):
        base_loc = entry.get("BaseLoc", "")
        path = (base_loc.lstrip("/") if base_loc.startswith("/")
                else posixpath.normpath(posixpath.join(posixpath.dirname(sigs_path), base_loc)))
        signature_xml = z.read(path)
        root = ElementTree.fromstring(signature_xml)
        base = posixpath.dirname(path)
        refs = root.find("ofd:SignedInfo/ofd:References", ns)
        assert refs is not None and refs.get("CheckMethod") in ("SM3", "1.2.156.10197.1.401")
        failed = []
        for ref in refs.findall("ofd:Reference", ns):
            loc = ref.get("FileRef", "")
            expected = base64.b64decode((ref.findtext("ofd:CheckValue", "", ns) or "").strip())
            try:
                actual = sm3(read(loc, base))
            except KeyError:
                actual = b""
            if actual != expected:
                failed.append(loc)
        value_loc = (root.findtext("ofd:SignedValue", "", ns) or "").strip()
        parsed = parse_signature(read(value_loc, base))
        seal_loc = (root.findtext("ofd:SignedInfo/ofd:Seal/ofd:BaseLoc", "", ns) or "").strip()
        seal_file_ok = not seal_loc or _seal_der(parsed) == read(seal_loc, base)
        seal_ok = (parsed.seal.maker_signature_ok() and parsed.signer_cert in parsed.seal.certificates
                   and seal_file_ok)
        stamps = []
        for annot in root.findall("ofd:SignedInfo/ofd:StampAnnot", ns):
            boundary = _box4(annot.get("Boundary"))
            assert boundary is not None, f"StampAnnot without a Boundary in {path}"
            clip = _box4(annot.get("Clip")) if annot.get("Clip") is not None else None
            assert annot.get("Clip") is None or clip is not None, f"bad Clip in {path}"
            page = pages.get(annot.get("PageRef", ""))
            stamps.append(OfdStamp(page[0] if page else None, page[1] if page else None, boundary, clip))
        out.append(OfdSignatureCheck(path, not failed, failed, parsed.data_hash == sm3(signature_xml),
                                     parsed.signature_ok(), seal_ok, parsed, stamps))
    return out


def _box4(text: str | None) -> Box | None:
    values = [float(v) for v in (text or "").split()]
    return (values[0], values[1], values[2], values[3]) if len(values) == 4 else None


def _ofd_pages(z: object, ofd_xml: object) -> dict[str, tuple[int, tuple[float, float]]]:
    """Page ID -> (1-based index, (width, height) mm), from Document.xml and each page's Area
    (else the document's PageArea), both namespaces found in the wild accepted."""
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    assert isinstance(z, zipfile.ZipFile) and isinstance(ofd_xml, ElementTree.Element)

    def find(el: ElementTree.Element, *names: str) -> ElementTree.Element | None:
        for name in names:
            el = next((c for c in el if c.tag.rsplit("}", 1)[-1] == name), None)  # type: ignore[assignment]
            if el is None:
                return None
        return el

    def size(el: ElementTree.Element | None) -> tuple[float, float] | None:
        box = find(el, "PhysicalBox") if el is not None else None
        values = _box4(box.text) if box is not None else None
        return (values[2], values[3]) if values else None

    doc_root = find(ofd_xml, "DocBody", "DocRoot")
    assert doc_root is not None and doc_root.text
    doc_path = doc_root.text.strip().lstrip("/")
    document = ElementTree.fromstring(z.read(doc_path))
    default = size(find(document, "CommonData", "PageArea"))
    pages_el = find(document, "Pages")
    out: dict[str, tuple[int, tuple[float, float]]] = {}
    for i, page in enumerate([c for c in pages_el or [] if c.tag.endswith("Page")], start=1):
        loc = page.get("BaseLoc", "")
        path = loc.lstrip("/") if loc.startswith("/") else posixpath.join(posixpath.dirname(doc_path), loc)
        try:
            own = size(find(ElementTree.fromstring(z.read(path)), "Area"))
        except ElementTree.ParseError:
            own = None  # a damaged page: its check value fails below, its size is the default
        page_size = own or default
        assert page_size is not None, f"page {i} has no size"
        out[page.get("ID", "")] = (i, page_size)
    return out


def _seal_der(sig: ParsedSignature) -> bytes:
    """The SES_Seal inside TBS_Sign, exactly as embedded."""
    tbs = core.Sequence.load(sig.to_sign)
    return bytes(tbs[1].dump())
