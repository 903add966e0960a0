"""The document signed for a stamp: one signature per seal placement, each over the previous
output (PAdES B-LT on a PDF in a worker process, a detached CMS over a relying system's
digest, GB/T 38540 on an OFD), and the person's own signature for the signature placements
(PAdES on a PDF; GB/T 38540 with the person's own ``SES_Seal`` on an OFD). Every seal
signature comes from seals, which decides under its row locks and has certs sign; this
module only prepares and assembles."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from shared.auth import Principal
from shared.errors import EsealError
from shared.gm.x509 import load_certificate

from ..adapters import ofd
from ..adapters.ofd import remote_signing as ofd_signing
from ..adapters.pdf import StampMetadata, offline_validation_context, sign_detached_digest, stamp_pdf
from ..adapters.pdf.remote_signing import PersonDigestSigner, RecordingTimeStamper, SealDigestSigner
from ..adapters.pdf.signing import PT_PER_MM, Mark, seal_box_pt
from ..adapters.pdf_processes import PdfStampJob, der
from ..adapters.repository import RequestRow
from ..domain.authorization import StampAuthorization
from ..domain.placements import Spot
from ..domain.resolve import SIGNATURE_MM
from .context import Stamping
from .ports import CaBundle, PersonSignature, SealInfo, SealSignature
from .stamp_plan import Claim, OwnSignature, StampCommand, Timings, Use, enterprise_of

PADES, CMS, GBT38540 = "pades", "cms", "gbt38540"  # the stamp's format (usage records, events)


ECDSA, SM2 = "ecdsa-p256-sha256", "sm2-sm3"


@dataclass(frozen=True)
class Made:
    """One seal placement's signature."""

    index: int  # the placement's
    seal: SealInfo
    seal_signature: SealSignature
    signed_at: datetime | None  # the signature timestamp
    format: str = PADES

    @property
    def algorithm(self) -> str:
        return SM2 if self.format == GBT38540 else ECDSA


@dataclass(frozen=True)
class Signed:
    """The stamped document: one signature per seal placement, in placement order."""

    content: bytes
    content_type: str
    made: list[Made]


async def sign_own(ctx: Stamping, claim: Claim, person: Principal, own: OwnSignature,
                   spots: Sequence[Spot], now: datetime, revision: asyncio.Future[bytes],
                   person_sig: asyncio.Task[PersonSignature]) -> bytes:
    """The person's own signature at every spot of the signature placements: one PAdES B-LT
    signature by the person's certificate, the first revision over the uploaded document (the
    seals' revisions follow; an OFD: ``_sign_own_ofd``). Its digest joins the authorization's
    in the one certs call."""
    row = claim.row
    assert claim.document is not None
    if row.kind == "ofd":
        return await _sign_own_ofd(ctx, claim.document, person, own, spots, now, revision, person_sig)
    loop = asyncio.get_running_loop()

    async def sign_revision(digest: bytes) -> bytes:  # on the main loop
        revision.set_result(digest)
        return (await asyncio.shield(person_sig)).more[0]

    signer = PersonDigestSigner(sign_revision, loop)
    ca = await ctx.ca.current()
    cert = x509.load_pem_x509_certificate(own.certificate_pem.encode())
    chain = [cert] + [c for c in (ca.issuing, ca.root) if c != cert]
    width_pt, height_pt = _signature_box_pt(own.image)
    pdf = document = claim.document

    async def job() -> bytes:
        return await stamp_pdf(
            pdf, marks=[Mark(s.page, s.x, s.y) for s in spots], seal_png=own.image,
            seal_size_pt=width_pt, seal_height_pt=height_pt, signer=signer, chain=chain,
            timestamper=RecordingTimeStamper(ctx.timestamper), validation_context_for_lt=_lt_context(ca),
            metadata=None, field_name=f"eseal-{row.request_id}-signature", signer_name=person.name,
            reason=f"{person.name} 签名", max_bytes=max(len(document), ctx.settings.max_document_bytes))
    try:
        return await ctx.workers.run(job)
    except BaseException:
        if signer.error is not None:
            raise signer.error from None  # certs' answer (403 wrong_certificate_password …)
        raise


async def _sign_own_ofd(ctx: Stamping, document: bytes, person: Principal, own: OwnSignature,
                        spots: Sequence[Spot], now: datetime, revision: asyncio.Future[bytes],
                        person_sig: asyncio.Task[PersonSignature]) -> bytes:
    """The person's own signature on an OFD: GB/T 38540 signs with a seal, so certs makes the
    person's own ``SES_Seal`` (个人印章: the 个人签名 picture at its size on the page, listing
    the person's SM2 certificate); its TBS_Sign digest joins the authorization's in the one
    certs call (the SM2 twin signs it after the same password check). The seals' signatures
    follow over this output."""
    width_mm, height_mm = (max(1, round(v)) for v in _signature_box(own.image, 1.0))
    esl = await ctx.signer.personal_seal(person.id, own.image, width_mm, height_mm)

    async def sign(digest: bytes) -> tuple[bytes, bytes]:
        revision.set_result(digest)
        sig = await asyncio.shield(person_sig)
        return sig.sm2, _der(sig.sm2_certificate_pem)

    content, _ = await _ofd_signature(ctx, document, esl, spots, now, sign, Timings())
    return content


def _signature_box_pt(png: bytes) -> tuple[float, float]:
    """The signature picture scaled, keeping its proportions, into the box the request side
    left for it (``SIGNATURE_MM``), in points."""
    return _signature_box(png, PT_PER_MM)


def _signature_box(png: bytes, per_mm: float) -> tuple[float, float]:
    """The signature picture scaled, keeping its proportions, into ``SIGNATURE_MM``, in units
    of ``per_mm`` per millimetre."""
    from PIL import Image  # noqa: PLC0415 - only a signature placement needs it

    with Image.open(io.BytesIO(png)) as image:
        w, h = image.size
    box_w, box_h = (v * per_mm for v in SIGNATURE_MM)
    scale = min(box_w / w, box_h / h)
    return w * scale, h * scale


async def sign_seals(ctx: Stamping, claim: Claim, document: bytes | None, person: Principal,
                     cmd: StampCommand, uses: Sequence[Use], seals: dict[uuid.UUID, SealInfo],
                     now: datetime, authorization: StampAuthorization,
                     person_sig: asyncio.Task[PersonSignature], timings: Timings) -> Signed:
    """The document signed once per seal placement, each signature over the previous output;
    the person's signature is bound into each as soon as it is ready."""
    row = claim.row

    def metadata(seal: SealInfo, sig: PersonSignature | None) -> StampMetadata:
        return _stamp_metadata(seal, person, now, row.request_id, authorization, sig)

    def signed_metadata(seal: SealInfo) -> Callable[[], Coroutine[Any, Any, StampMetadata]]:
        async def final() -> StampMetadata:  # on the main loop
            with timings.phase("person_wait"):
                return metadata(seal, await asyncio.shield(person_sig))
        return final

    content = document
    made: list[Made] = []
    content_type = ""
    for use in uses:
        seal = seals[use.seal_id]
        if row.kind == "ofd":
            assert content is not None
            content, one = await _sign_ofd(ctx, row, content, use, person, cmd, seal, now,
                                           signed_metadata(seal), timings)
            content_type = "application/ofd"
        else:
            content, one, content_type = await _sign_cms(
                ctx, row, content, use, person, cmd, seal, metadata(seal, None), signed_metadata(seal))
        made.append(one)
    assert content is not None
    return Signed(content, content_type, made)


def _stamp_metadata(seal: SealInfo, person: Principal, now: datetime, request_id: uuid.UUID,
                    authorization: StampAuthorization, sig: PersonSignature | None) -> StampMetadata:
    """What the signature dictionary binds: the seal, the person, the grant, the person's signature."""
    return StampMetadata(
        seal_id=str(seal.seal_id), seal_name=seal.name, seal_type=seal.type_label,
        enterprise_name=seal.enterprise_name, enterprise_uscc=seal.enterprise_uscc,
        signer_person_name=person.name, signer_person_id=str(person.id), stamped_at=now,
        request_id=str(request_id),
        person_signature_b64=base64.b64encode(sig.signature).decode() if sig else "",
        authorization=authorization.canonical(),
        person_signature_algorithm=sig.algorithm if sig else "",
        person_certificate_serial=sig.serial_number if sig else "",
        enterprise_id=str(seal.enterprise_id), seal_type_code=seal.type)


def _field_name(request_id: uuid.UUID, index: int) -> str:
    """The signature field of a placement (the single form's name of before for placement 0)."""
    return f"eseal-{request_id}" if index == 0 else f"eseal-{request_id}-{index}"


async def _sign_cms(ctx: Stamping, row: RequestRow, document: bytes | None, use: Use,
                    person: Principal, cmd: StampCommand, seal: SealInfo, draft: StampMetadata,
                    signed_metadata: Callable[[], Coroutine[Any, Any, StampMetadata]],
                    ) -> tuple[bytes, Made, str]:
    """PAdES B-LT on a PDF (one revision over ``document``), or a detached CMS over a relying
    system's digest, in a worker; the seal's ECDSA signature comes from seals (which decides
    under its locks and has certs sign)."""
    loop = asyncio.get_running_loop()
    stamper = RecordingTimeStamper(ctx.timestamper)

    async def seal_sign(seal_id: uuid.UUID, person_id: uuid.UUID, enterprise_id: uuid.UUID,
                        digest: bytes) -> SealSignature:
        """The seal signature with its TSA token: pyHanko's signature timestamp (over the
        signature value) is then answered without a round trip of its own."""
        made = await ctx.seals.stamp_signature(seal_id, person_id, enterprise_id, digest, timestamp=True)
        stamper.offer(made.timestamp_token)
        return made

    signer = SealDigestSigner(seal_sign, loop, use.seal_id, person.id, enterprise_of(cmd))
    ca = await ctx.ca.current()
    chain = _chain(seal, ca)
    if row.kind == "pdf":
        assert document is not None and use.placement is not None
        image = await ctx.seals.seal_image(use.seal_id)
        width_pt, height_pt = seal_box_pt(image, seal.width_mm, seal.height_mm)
        # what must fit the page: the seal itself, as the request side checked it
        ink = (seal.width_mm * PT_PER_MM, seal.height_mm * PT_PER_MM)
        # issue 18: the whole pyHanko run in a worker process (threads without processes)
        roots, crls, others = _lt_material(ca)
        stamp_job = PdfStampJob(
            pdf=document, marks=tuple(Mark(s.page, s.x, s.y) for s in use.placement.spots),
            seal_png=image, seal_size_pt=width_pt, seal_height_pt=height_pt, fit_pt=ink,
            chain_der=der(chain), roots_der=roots, crls_der=crls, others_der=others, metadata=draft,
            field_name=_field_name(row.request_id, use.index), final_metadata=True,
            max_bytes=max(len(document), ctx.settings.max_document_bytes))

        def run() -> Awaitable[bytes]:
            return ctx.workers.stamp(stamp_job, signer=signer, timestamper=stamper,
                                     final_metadata=signed_metadata)
        content_type = "application/pdf"
    else:
        digest = bytes.fromhex(row.document_sha256)
        await signed_metadata()  # the person signs first; a detached signature has nothing to prepare

        async def job() -> bytes:
            return await sign_detached_digest(digest, signer, chain, stamper)

        def run() -> Awaitable[bytes]:
            return ctx.workers.run(job)
        content_type = "application/pkcs7-signature"
    try:
        content = await run()
    except BaseException:
        if signer.error is not None:
            raise signer.error from None  # seals' answer (403 not_authorized, 409 seal_revoked …)
        raise
    assert signer.result is not None
    fmt = PADES if row.kind == "pdf" else CMS
    return content, Made(use.index, seal, signer.result, stamper.signed_at(), fmt), content_type


async def _sign_ofd(ctx: Stamping, row: RequestRow, document: bytes, use: Use, person: Principal,
                    cmd: StampCommand, seal: SealInfo, now: datetime,
                    person_signed: Callable[[], Awaitable[Any]],
                    timings: Timings) -> tuple[bytes, Made]:
    """GB/T 38540 on an OFD with the seal's ``SES_Seal`` from seals; the seal's SM2 signature
    over TBS_Sign from seals (which decides under its locks and has certs sign), asked for
    once the person's signature is there."""
    assert use.placement is not None
    with timings.phase("ofd_esl"):  # sub-phases of "sign", for the benchmark (bench/bench_ofd.py)
        esl = await ctx.seals.stamp_esl(use.seal_id, person.id, enterprise_of(cmd),
                                        certificate_serial=seal.certificate_serial)
    made: list[SealSignature] = []
    stamper = RecordingTimeStamper(ctx.timestamper)

    async def sign(digest: bytes) -> tuple[bytes, bytes]:
        await person_signed()  # the person's signature first, as for a PDF
        with timings.phase("seal_signature"):  # with the TSA token over it: one round trip
            signature = await ctx.seals.stamp_signature(
                use.seal_id, person.id, enterprise_of(cmd), digest, algorithm=SM2, timestamp=True)
        stamper.offer(signature.timestamp_token)
        made.append(signature)
        return signature.signature, _der(signature.certificate_pem)

    content, signed_at = await _ofd_signature(ctx, document, esl, use.placement.spots, now, sign,
                                              timings, stamper)
    return content, Made(use.index, seal, made[0], signed_at, GBT38540)


async def _ofd_signature(ctx: Stamping, document: bytes, esl: bytes, spots: Sequence[Spot],
                         now: datetime, sign: Callable[[bytes], Awaitable[tuple[bytes, bytes]]],
                         timings: Timings, stamper: RecordingTimeStamper | None = None,
                         ) -> tuple[bytes, datetime | None]:
    """One GB/T 38540 signature with ``esl`` over ``document``: Signature.xml prepared in a
    worker (one StampAnnot per spot — a 骑缝章: one per page, clipped to its strip — at the
    size the seal's own SES_Seal states for its picture), ``sign`` (e = SM3(Z‖TBS_Sign) →
    the signature and its certificate, DER) checked against the certificate the seal lists,
    an RFC 3161 token over the signature value (``stamper``'s, when ``sign`` offered it one),
    then the package is written. Returns the document and the token's time."""

    def prepare() -> ofd.PreparedOfdStamp:
        facts = ofd_signing.seal_facts(esl)
        return ofd.prepare_ofd_placement(document, esl, facts.signer_certificate, spots,
                                         facts.width_mm, facts.height_mm, signed_at=now)

    with timings.phase("ofd_prepare"):
        prepared = await ctx.workers.call(prepare)
    signature, certificate = await sign(ofd_signing.digest_to_sign(prepared))
    ofd_signing.check_signature(prepared, certificate, signature)
    stamper = stamper or RecordingTimeStamper(ctx.timestamper)
    # GB/T 38540 §7.2.3: the timestamp is over the signature value (imprint SHA-256: what the
    # platform TSA answers; verifiers read the imprint's algorithm from the token)
    with timings.phase("timestamp"):
        token = await stamper.async_timestamp(hashlib.sha256(signature).digest(), "sha256")

    def finish() -> bytes:
        return ofd.finish_ofd_stamp(prepared, signature, timestamp_token=token.dump())

    with timings.phase("ofd_finish"):
        content = await ctx.workers.call(finish)
    return content, stamper.signed_at()


def _der(certificate_pem: str) -> bytes:
    if not certificate_pem:
        raise EsealError("seals did not name the signing certificate", code="signing_failed")
    return bytes(load_certificate(certificate_pem.encode()).dump())


def _chain(seal: SealInfo, ca: CaBundle) -> list[x509.Certificate]:
    if not seal.chain_pem:
        raise EsealError("seals did not give the seal's certificate", code="seal_certificate_unavailable")
    certs = [x509.load_pem_x509_certificate(p.encode()) for p in seal.chain_pem]
    if not any(c == ca.issuing for c in certs):
        certs.append(ca.issuing)
    if not any(c == ca.root for c in certs):
        certs.append(ca.root)
    return certs


def _lt_material(ca: CaBundle) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """``_lt_context`` as DER for a worker process: roots, CRLs, other certificates."""
    others = [ca.issuing] + ([ca.tsa] if ca.tsa is not None else [])
    return der([ca.root]), der(ca.crls), der(others)


def _lt_context(ca: CaBundle) -> Any:
    others = [ca.issuing] + ([ca.tsa] if ca.tsa is not None else [])
    return offline_validation_context([ca.root], crls=ca.crls, other_certs=others)
