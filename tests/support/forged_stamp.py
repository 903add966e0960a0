"""The forged-attribution PDF of issue #11, built with pyHanko as an attacking relying system would.

The attack: a relying system prepares a PDF whose signature dictionary carries an
``/EsealStamp`` naming enterprise B, hashes its signed byte ranges, and sends that hash as a
*digest* stamp request. A person holding a grant of enterprise A's seal stamps it (the
platform never sees the PDF), and the relying system puts the returned detached CMS into the
PDF's ``/Contents``. The seal signature is genuine (A's certificate, covering the forged
dictionary), so a verifier that shows what ``/EsealStamp`` says names B.

Two steps because the platform's answer comes in between::

    forged = forged_attribution_pdf(enterprise_name="乙公司", ...)
    ... digest stamp request with forged.digest_sha256, scan, stamp, fetch the CMS ...
    pdf = await forged.complete(cms_der)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import IO, Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest, SignatureObject
from pyhanko.sign.signers.pdf_cms import ExternalSigner
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument

from tests.support.pdf_fixtures import make_test_pdf

STAMP_KEY = "/EsealStamp"
FIELD_NAME = "eseal-forged"


@dataclass
class ForgedStamp:
    """A prepared PDF waiting for the platform's detached signature over ``digest_sha256``."""

    digest_sha256: str  # hex: send it as ``digest_sha256`` of a digest stamp request
    claimed: dict[str, Any]  # the /EsealStamp JSON written into the signature dictionary
    _prepared: PreparedByteRangeDigest
    _output: IO[bytes]

    async def complete(self, cms_der: bytes) -> bytes:
        """Embed the platform's detached CMS (the digest request's result) into the PDF."""
        await PdfTBSDocument.async_finish_signing(self._output, self._prepared, cms_der)
        return self._output.getvalue()  # type: ignore[attr-defined,no-any-return]


def claimed_stamp(*, enterprise_name: str, seal_name: str | None = None,
                  enterprise_uscc: str = "91110000MA00FORGE1", seal_id: str | None = None,
                  enterprise_id: str | None = None, request_id: str | None = None,
                  signer_person_name: str = "李四", seal_type_label: str = "法定名称章",
                  seal_type: str = "official") -> dict[str, Any]:
    """An /EsealStamp body in the platform's format (version 1) naming whoever we like."""
    return {
        "v": 1,
        "seal_id": seal_id or str(uuid.uuid4()),
        "seal_name": seal_name or f"{enterprise_name}{seal_type_label}",
        "seal_type": seal_type_label,
        "seal_type_code": seal_type,
        "enterprise_name": enterprise_name,
        "enterprise_uscc": enterprise_uscc,
        "enterprise_id": enterprise_id or str(uuid.uuid4()),
        "signer_person_name": signer_person_name,
        "signer_person_id": str(uuid.uuid4()),
        "stamped_at": datetime.now(UTC).isoformat(),
        "request_id": request_id or str(uuid.uuid4()),
        "person_signature_b64": "",
        "authorization": "",
        "person_signature_algorithm": "",
        "person_certificate_serial": "",
    }


def forged_attribution_pdf(*, enterprise_name: str = "乙方伪造科技有限公司", pdf: bytes | None = None,
                           claimed: dict[str, Any] | None = None, bytes_reserved: int = 32768,
                           **claim: Any) -> ForgedStamp:
    """Prepare a PDF whose signature dictionary names ``enterprise_name`` (or ``claimed``).

    ``claim`` goes to ``claimed_stamp`` (seal_id, enterprise_id, request_id, seal_name, …).
    The CMS later put in must fit ``bytes_reserved`` bytes (a platform CMS with its
    timestamp token and chain is well under 16 KiB).
    """
    body = claimed if claimed is not None else claimed_stamp(enterprise_name=enterprise_name, **claim)
    writer = IncrementalPdfFileWriter(BytesIO(pdf if pdf is not None else make_test_pdf(1)))
    meta = PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256",
                                subfilter=fields.SigSeedSubFilter.PADES,
                                name=f"{body['enterprise_name']}（{body['seal_name']}）")
    placeholder = ExternalSigner(signing_cert=None, cert_registry=None, signature_value=b"\0" * 72)
    signer = PdfSigner(meta, placeholder,
                       new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=0, box=(300, 200, 400, 300)))
    session = signer.init_signing_session(writer)
    tbs = session.prepare_tbs_document(validation_info=None, bytes_reserved=bytes_reserved)
    sig_dict = session.sig_field["/V"]
    assert isinstance(sig_dict, SignatureObject)
    sig_dict[generic.NameObject(STAMP_KEY)] = generic.TextStringObject(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    prepared, output = tbs.digest_tbs_document()
    return ForgedStamp(prepared.document_digest.hex(), body, prepared, output)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["ForgedStamp", "claimed_stamp", "forged_attribution_pdf"]
