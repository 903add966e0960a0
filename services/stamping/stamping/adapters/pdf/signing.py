"""PAdES stamping with a seal key that never enters this process.

How the remote key plugs into pyHanko: pyHanko builds the CMS SignedData itself and
only asks its ``Signer`` for the raw signature over the DER of the signed
attributes (``Signer.async_sign_raw``). ``RemoteSigner`` hashes those bytes with
SHA-256 and sends only the digest to the ``DigestSigner`` port (KMS/HSM/the seals
service), which returns a DER ECDSA signature over the prehashed digest. The
signature is checked against the seal certificate before it is embedded, so a
misbehaving signer cannot produce a broken document.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, Protocol, cast, runtime_checkable

from asn1crypto import cms
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import load_der_public_key
from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.signers.pdf_byterange import BuildProps, SignatureObject
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes, Signer
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    SigDSSPlacementPreference,
)
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from shared.errors import EsealError

from .metadata import SIG_DICT_KEY, StampMetadata
from .pki import CertLike, as_asn1_chain
from .seal_images import PDF_MODES, KeptImage, kept, open_picture, picture
from .validation import (
    DEFAULT_MAX_PDF_BYTES,
    DEFAULT_SEAL_SIZE_PT,
    Box,
    PdfInfo,
    PositionOffPage,
    SignatureFieldExists,
    check_position,
    check_right_edge,
    describe_pdf,
    inspect_pdf,
    open_strict_reader,
)

DIGEST_ALGORITHM = "sha256"
APP_NAME = "eseal"
APP_REVISION = "1"


class StampSigningError(EsealError):
    """Signing could not complete (remote signer or TSA misbehaved)."""

    status, code, title = 502, "signing_failed", "Signing failed"


class SealCertificateInvalid(StampSigningError):
    """The seal certificate does not validate now (revoked, expired, no fresh CRL)."""

    status, code, title = 409, "seal_certificate_invalid", "Seal certificate not valid"


class _OfflineByDesign(logging.Filter):
    """Drop pyHanko's per-stamp warning that fetching is off: we are offline on purpose
    (the platform's own CRLs are handed in), so it would only be noise in every stamp."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineByDesign())


@runtime_checkable
class DigestSigner(Protocol):
    """Port to whatever holds a seal's private key (platform keystore, HSM, KMS)."""

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        """Sign an already computed digest; return the DER-encoded signature."""
        ...


class RemoteSigner(Signer):
    """pyHanko ``Signer`` whose raw signatures come from a ``DigestSigner``."""

    def __init__(self, digest_signer: DigestSigner, chain: Sequence[CertLike]):
        certs = as_asn1_chain(chain)
        super().__init__(
            signing_cert=certs[0],
            cert_registry=SimpleCertificateStore.from_certs(certs),  # type: ignore[no-untyped-call]
            # Embedding the root costs ~500 bytes and helps poor validators build paths.
            embed_roots=True,
        )
        self._digest_signer = digest_signer
        self._public_key = load_der_public_key(certs[0].public_key.dump())

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm.lower() != DIGEST_ALGORITHM:
            raise SigningError(f"only {DIGEST_ALGORITHM} is supported, got {digest_algorithm}")
        if dry_run:
            # pyHanko only needs the size here, to reserve room for /Contents.
            return bytes(self._max_signature_size())
        digest = hashlib.sha256(data).digest()
        signature = await self._digest_signer.sign_digest(digest, DIGEST_ALGORITHM)
        self._verify(signature, digest)
        return signature

    def _max_signature_size(self) -> int:
        key = self._public_key
        if isinstance(key, ec.EllipticCurvePublicKey):
            coord = (key.curve.key_size + 7) // 8
            return 2 * (coord + 3) + 3  # DER SEQUENCE of two INTEGERs, worst case
        if isinstance(key, rsa.RSAPublicKey):
            return (key.key_size + 7) // 8
        raise SigningError(f"unsupported seal key type {type(key).__name__}")

    def _verify(self, signature: bytes, digest: bytes) -> None:
        key = self._public_key
        prehashed = Prehashed(hashes.SHA256())
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, digest, ec.ECDSA(prehashed))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, digest, padding.PKCS1v15(), prehashed)
            else:
                raise SigningError(f"unsupported seal key type {type(key).__name__}")
        except InvalidSignature as e:
            raise SigningError(
                "remote signer returned a signature that does not match the seal certificate"
            ) from e


def seal_stamp_style(seal: bytes | Image.Image) -> StaticStampStyle:
    """Appearance = the seal image only, scaled into the field, no border, no text. A PNG
    (the raw baseline) is decoded and embedded as plain pyHanko does; a picture (the
    platform's, from ``seal_images.picture``) has its encoded XObject kept."""
    if isinstance(seal, bytes):
        background: PdfImage = PdfImage(open_picture(seal))
    else:
        background = KeptImage(seal if seal.mode in PDF_MODES else seal.convert("RGBA"))
    return StaticStampStyle(
        background=background,
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),  # type: ignore[no-untyped-call]
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
    )


# where a signature's seal is drawn ------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """Where one signature draws its seal: 1-based page and centre (x, y) in points; x None
    for a cross-page strip flush with the right edge (the seal is cut into as many equal
    vertical strips as the signature has such marks, strip i on the i-th of them)."""

    page: int
    x: float | None
    y: float


@dataclass(frozen=True)
class Appearance:
    page: int
    box: Box  # /Rect, in the page's user space
    image: Image.Image


PT_PER_MM = 72 / 25.4
# seals' PNGs carry a thin transparent margin around the ink (0.5 mm a side) and say their own
# physical size through their resolution; a PNG that says nothing is drawn at the seal's size.
_MAX_MARGIN_MM = 3.0


def seal_box_pt(seal_png: bytes, width_mm: float, height_mm: float) -> tuple[float, float]:
    """The box the seal image is drawn in (points), so that its ink is ``width_mm`` x
    ``height_mm`` on paper: the PNG's own physical size when it states one that is the seal's
    plus a small margin, else exactly the seal's size."""
    image = Image.open(BytesIO(seal_png))
    dpi = image.info.get("dpi")
    if dpi:
        try:
            dx, dy = float(dpi[0]), float(dpi[1])
        except (TypeError, ValueError, IndexError):
            dx = dy = 0.0
        if dx > 0 and dy > 0:
            w_mm, h_mm = image.width / dx * 25.4, image.height / dy * 25.4
            if 0 <= w_mm - width_mm <= _MAX_MARGIN_MM and 0 <= h_mm - height_mm <= _MAX_MARGIN_MM:
                return w_mm * PT_PER_MM, h_mm * PT_PER_MM
    return width_mm * PT_PER_MM, height_mm * PT_PER_MM


def cut_strips(image: Image.Image, n: int) -> list[tuple[Image.Image, float]]:
    """The seal cut into ``n`` equal vertical strips, left to right, each with the fraction of
    the seal's width it is (pixel boundaries rounded, so the fractions add up to exactly 1)."""
    if n < 1:
        raise ValueError("at least one strip")
    if n > image.width:
        raise PositionOffPage(f"a seal {image.width} px wide cannot be cut into {n} strips")
    edges = [round(i * image.width / n) for i in range(n + 1)]
    return [(image.crop((edges[i], 0, edges[i + 1], image.height)),
             (edges[i + 1] - edges[i]) / image.width) for i in range(n)]


def layout_marks(info: PdfInfo, marks: Sequence[Mark], seal: Image.Image,
                 width_pt: float, height_pt: float,
                 fit: tuple[float, float] | None = None) -> list[Appearance]:
    """Every appearance of one signature, checked to fit its page: the whole seal at each
    mark with a centre, and the strips of the seal at the right edge of each cross-page mark.

    ``fit``: the size that must fit the page (the seal's ink, without the image's transparent
    margin: what the request side checked), if smaller than the drawn ``width_pt`` x
    ``height_pt``; the margin may then reach past the page's edge."""
    if not marks:
        raise ValueError("a signature needs at least one mark")
    fit_w, fit_h = fit if fit is not None else (width_pt, height_pt)
    edge = [m for m in marks if m.x is None]
    strips = iter(kept(seal, ("strips", len(edge)), lambda: cut_strips(seal, len(edge)))
                  if edge else ())
    out = []
    for m in marks:
        if m.x is None:
            strip, fraction = next(strips)
            b = check_right_edge(info, m.page, m.y, width_pt * fraction, min(fit_h, height_pt))
            out.append(Appearance(m.page, _grown(b, b[2] - b[0], height_pt), strip))
        else:
            b = check_position(info, m.page, m.x, m.y, min(fit_w, width_pt), min(fit_h, height_pt))
            out.append(Appearance(m.page, _grown(b, width_pt, height_pt), seal))
    return out


def _grown(box: Box, width: float, height: float) -> Box:
    """``box`` resized to ``width`` x ``height`` about its centre."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def _add_widgets(writer: IncrementalPdfFileWriter, field_name: str,
                 appearances: Sequence[Appearance]) -> None:
    """More widgets of the signature field just made (one per further appearance), written in
    the revision being signed: the signature covers them, and pyHanko's modification analysis
    reads a new signature field with several widgets as form filling, not as a change."""
    found = [ref for _, _, ref in fields.enumerate_sig_fields(writer, with_name=field_name)]
    if len(found) != 1:
        raise SigningError("pyHanko signing session changed shape: no new signature field")
    field_ref = found[0]
    sig_field = field_ref.get_object()
    kids = sig_field.get("/Kids")
    if not isinstance(kids, generic.ArrayObject) or len(kids) != 1:
        raise SigningError("pyHanko signing session changed shape: the field has no single widget")
    kids[0].get_object()[generic.NameObject("/Parent")] = field_ref
    w: Any = writer  # pyHanko's writer and PDF objects are untyped
    g: Any = generic
    for a in appearances:
        page_ref = w.find_page_for_modification(a.page - 1)[0]
        widget = g.DictionaryObject({
            g.NameObject("/Type"): g.NameObject("/Annot"),
            g.NameObject("/Subtype"): g.NameObject("/Widget"),
            g.NameObject("/F"): g.NumberObject(0b10000100),  # print, locked
            g.NameObject("/Rect"): g.ArrayObject(g.FloatObject(v) for v in a.box),
            g.NameObject("/P"): page_ref,
            g.NameObject("/Parent"): field_ref,
        })
        width, height = a.box[2] - a.box[0], a.box[3] - a.box[1]
        stamp = seal_stamp_style(a.image).create_stamp(
            writer, layout.BoxConstraints(width=width, height=height), {})
        stamp.apply_appearance(widget)
        widget_ref = writer.add_object(widget)
        kids.append(widget_ref)
        w.register_annotation(page_ref, widget_ref)
    writer.update_container(sig_field)


def _lt_signature_meta(
    *,
    field_name: str,
    validation_context: ValidationContext | None,
    reason: str | None,
    location: str | None,
    name: str | None,
) -> PdfSignatureMetadata:
    return PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,  # ETSI.CAdES.detached
        reason=reason,
        location=location,
        name=name,
        app_build_props=BuildProps(name=APP_NAME, revision=APP_REVISION),
        embed_validation_info=validation_context is not None,
        validation_context=validation_context,
        # DSS written in the same revision as the signature: B-LT in one
        # revision, so the seal signature covers the entire file.
        dss_settings=DSSContentSettings(
            placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False
        ),
    )


async def stamp_pdf(
    pdf: bytes,
    *,
    page: int | None = None,
    x: float | None = None,
    y: float | None = None,
    marks: Sequence[Mark] | None = None,
    seal_png: bytes,
    seal_size_pt: float = DEFAULT_SEAL_SIZE_PT,
    seal_height_pt: float | None = None,
    fit_pt: tuple[float, float] | None = None,
    signer: DigestSigner,
    chain: Sequence[CertLike],
    timestamper: TimeStamper,
    validation_context_for_lt: ValidationContext,
    metadata: StampMetadata | None,
    reason: str | None = None,
    location: str | None = None,
    field_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_PDF_BYTES,
    final_metadata: Callable[[], Awaitable[StampMetadata]] | None = None,
    signer_name: str | None = None,
    size_cache: MutableMapping[Hashable, int] | None = None,
    size_key: Hashable = None,
) -> bytes:
    """Stamp ``pdf`` with a visible seal at (x, y) of 1-based ``page``, or at every one of
    ``marks``; one PAdES B-LT signature, in one incremental revision.

    The seal is drawn ``seal_size_pt`` wide and ``seal_height_pt`` high (default square);
    ``fit_pt``, if given, is the part of it that must fit the page (its ink).
    With several marks the signature field gets one widget per mark, all written in the
    revision the signature covers; cross-page marks (x None) get the seal's strips.

    ``chain`` is the seal certificate first, then its issuing CA and the root.
    ``validation_context_for_lt`` must trust the platform root and hold the CRLs
    (see ``pki.offline_validation_context``); they are embedded in the DSS.

    ``final_metadata``, if given, is awaited just before the document is hashed and
    its result is what gets bound (``metadata`` then only supplies the viewer's
    /Name and /Reason and the field name). The expensive preparation (chain and
    revocation checks, size estimation) so overlaps with whatever produces the
    final details, e.g. the person's signature; the seal signature still comes after.

    ``size_cache``/``size_key``: the room reserved for the CMS, kept under ``size_key`` (which
    must name everything the estimate depends on: the chain, the revocation data and the TSA's
    size token), so stamps with the same ones skip pyHanko's dry-run CMS (issue 18).

    ``metadata`` None: a signature that is no seal's (a person's own signature placement,
    issue 15): no /EsealStamp entry, ``field_name``, ``reason`` and ``signer_name`` given.
    """
    if marks is None:
        if page is None or x is None or y is None:
            raise ValueError("page, x and y, or marks")
        marks = [Mark(page, x, y)]
    reader = open_strict_reader(pdf, max_bytes)
    height_pt = seal_size_pt if seal_height_pt is None else seal_height_pt
    appearances = layout_marks(describe_pdf(reader, pdf), marks, picture(seal_png),
                               seal_size_pt, height_pt, fit_pt)
    first, more = appearances[0], appearances[1:]
    field_name, reason, signer_name = _signature_names(metadata, field_name, reason, signer_name)
    _refuse_planted_field(reader, field_name)
    pdf_signer = PdfSigner(
        _lt_signature_meta(field_name=field_name, validation_context=validation_context_for_lt,
                           reason=reason, location=location, name=signer_name),
        RemoteSigner(signer, chain),
        timestamper=timestamper,
        stamp_style=seal_stamp_style(first.image),
        # pyHanko annotates box as ints but writes floats (rounded) into /Rect.
        new_field_spec=fields.SigFieldSpec(field_name, on_page=first.page - 1, box=first.box,  # type: ignore[arg-type]
                                           combine_annotation=not more),
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf), prev=reader)

    async def extra() -> Mapping[str, generic.PdfObject]:
        if metadata is None:
            if more:
                _add_widgets(writer, field_name, more)
            return {}
        final = metadata if final_metadata is None else await final_metadata()
        if final.request_id != metadata.request_id:
            raise ValueError("the final stamp details are for another request")
        if more:
            _add_widgets(writer, field_name, more)
        return {SIG_DICT_KEY: generic.TextStringObject(final.to_json())}

    try:
        return await _sign(pdf_signer, writer, extra_sig_entries=extra,
                           sizes=size_cache if size_key is not None else None, size_key=size_key)
    except (SigningError, PathBuildingError, PathValidationError) as e:
        raise _platform_error(e) from e


def _signature_names(metadata: StampMetadata | None, field_name: str | None, reason: str | None,
                     signer_name: str | None) -> tuple[str, str, str]:
    """The signature's field name, reason and signer name: the ones given, else the stamp's
    (a signature without stamp metadata must be given all three)."""
    if metadata is None:
        if field_name is None or reason is None or signer_name is None:
            raise ValueError("a signature without stamp metadata needs its field name, reason and name")
        return field_name, reason, signer_name
    return (field_name or f"eseal-{metadata.request_id}", reason or metadata.default_reason(),
            signer_name or metadata.display_name())


def _refuse_planted_field(reader: PdfFileReader, field_name: str) -> None:
    """pyHanko would silently fill a same-named empty field planted in the upload, wherever
    that field sits, instead of creating ours at (x, y)."""
    if any(True for _ in fields.enumerate_sig_fields(reader, with_name=field_name)):
        raise SignatureFieldExists(f"the document already has a signature field {field_name!r}")


def _platform_error(e: Exception) -> EsealError:
    """pyHanko's failure as the platform's: a seal chain that does not validate is the seal's
    fault, anything else a signing failure."""
    if isinstance(e, SigningError):
        # pyHanko validates the seal's chain (with revocation) before signing.
        if isinstance(e.__cause__, (PathBuildingError, PathValidationError)):
            return SealCertificateInvalid(f"{e}: {e.__cause__}")
        return StampSigningError(str(e))
    # Raised unwrapped when the TSA's own chain fails validation.
    return StampSigningError(f"timestamp authority certificate not valid: {e}")


async def _sign(
    pdf_signer: PdfSigner,
    writer: IncrementalPdfFileWriter,
    extra_sig_entries: Callable[[], Awaitable[Mapping[str, generic.PdfObject]]] | None = None,
    sizes: MutableMapping[Hashable, int] | None = None,
    size_key: Hashable = None,
) -> bytes:
    """pyHanko's ``async_sign_pdf``, unrolled into its documented stages.

    Unrolled for one reason: to add our entries to the signature dictionary after
    pyHanko created it and before the document is written and hashed (stage
    ``digest_tbs_document``), so they fall inside the signed /ByteRange.
    """
    session = pdf_signer.init_signing_session(writer)
    validation_info = await session.perform_presign_validation(writer)
    bytes_reserved = sizes.get(size_key) if sizes is not None else None
    if bytes_reserved is None:
        # a dry-run CMS with the TSA's size token and the revocation data, plus pyHanko's 50%
        bytes_reserved = await session.estimate_signature_container_size(validation_info, tight=False)
        if sizes is not None:
            sizes[size_key] = bytes_reserved
    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=bytes_reserved)
    if extra_sig_entries is not None:
        sig_dict = session.sig_field["/V"]  # the placeholder just added to the writer
        if not isinstance(sig_dict, SignatureObject):
            # Fail loudly rather than emit a seal whose details are not signed.
            raise SigningError("pyHanko signing session changed shape: no signature placeholder")
        for key, value in (await extra_sig_entries()).items():
            sig_dict[generic.NameObject(key)] = value
    prepared, output = tbs.digest_tbs_document()
    post_sign = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=session.system_time,
            adobe_revinfo_attr=None if validation_info is None else validation_info.adobe_revinfo_attr,
            cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
        ),
    )
    await post_sign.post_signature_processing(output)
    return cast(BytesIO, output).getvalue()  # no output stream given: pyHanko made a BytesIO


async def sign_invisible(
    pdf: bytes,
    *,
    field_name: str,
    signer: DigestSigner,
    chain: Sequence[CertLike],
    timestamper: TimeStamper,
    validation_context_for_lt: ValidationContext,
    reason: str,
    signer_name: str,
    location: str | None = None,
) -> bytes:
    """One invisible PAdES B-LT signature over ``pdf`` (a document the platform made itself,
    e.g. the evidence report, signed by the platform's own certificate): same profile as a
    stamp's (timestamp, DSS in the same revision), no widget."""
    reader = PdfFileReader(BytesIO(pdf))
    pdf_signer = PdfSigner(
        _lt_signature_meta(field_name=field_name, validation_context=validation_context_for_lt,
                           reason=reason, location=location, name=signer_name),
        RemoteSigner(signer, chain), timestamper=timestamper)
    try:
        return await _sign(pdf_signer, IncrementalPdfFileWriter(BytesIO(pdf), prev=reader))
    except (SigningError, PathBuildingError, PathValidationError) as e:
        raise _platform_error(e) from e


async def sign_detached_digest(
    digest_sha256: bytes,
    signer: DigestSigner,
    chain: Sequence[CertLike],
    timestamper: TimeStamper | None,
) -> bytes:
    """Detached CMS (application/pkcs7-signature, DER) over a document's SHA-256.

    CAdES-style signed attributes (content type, message digest, signing time,
    signing-certificate-v2) plus a signature timestamp token as unsigned attribute.
    """
    if len(digest_sha256) != 32:
        raise ValueError("digest_sha256 must be 32 bytes")
    content_info: cms.ContentInfo = await RemoteSigner(signer, chain).async_sign(
        digest_sha256,
        DIGEST_ALGORITHM,
        use_pades=True,  # CAdES attribute set (signing-certificate-v2)
        is_pdf_sig=False,  # ...and keep signingTime, which PAdES would drop
        timestamper=timestamper,
        signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)),
    )
    der: bytes = content_info.dump()
    return der


async def raw_stamp_in_process(
    pdf: bytes,
    seal_png: bytes,
    key: Any,
    chain: Sequence[CertLike],
    timestamper: TimeStamper | None,
    *,
    page: int = 1,
    x: float = 300.0,
    y: float = 200.0,
    seal_size_pt: float = DEFAULT_SEAL_SIZE_PT,
    validation_context: ValidationContext | None = None,
) -> bytes:
    """Benchmark baseline: same appearance, local key, plain pyHanko ``async_sign_pdf``.

    ``key`` is a `cryptography` private key (or asn1crypto PrivateKeyInfo).
    """
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives import serialization

    if not isinstance(key, asn1_keys.PrivateKeyInfo):
        key = asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    certs = as_asn1_chain(chain)
    local = SimpleSigner(
        signing_cert=certs[0],
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(certs),  # type: ignore[no-untyped-call]
    )
    box = check_position(inspect_pdf(pdf), page, x, y, seal_size_pt)
    pdf_signer = PdfSigner(
        _lt_signature_meta(
            field_name="baseline",
            validation_context=validation_context,
            reason=None,
            location=None,
            name=None,
        ),
        local,
        timestamper=timestamper,
        stamp_style=seal_stamp_style(seal_png),
        new_field_spec=fields.SigFieldSpec("baseline", on_page=page - 1, box=box),  # type: ignore[arg-type]
    )
    out = await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=True))
    return cast(BytesIO, out).getvalue()
