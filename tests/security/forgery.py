"""A relying system's forgery: a PDF whose seal details name someone else.

The relying system prepares a PDF with an empty signature whose ``/EsealStamp`` entry (inside
the signed byte range) names another enterprise, sends only the byte-range digest as a
digest stamp request, has its own grantee seal it, and embeds the returned CMS. Everything
a validator checks cryptographically is then genuine; only the details are chosen by the
attacker. (i11-verify's ``tests/support/forged_stamp.py`` builds the same document; this
module keeps the attack suite independent of that branch.)
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest, SignatureObject
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner, PdfTBSDocument
from stamping.adapters.pdf.metadata import SIG_DICT_KEY, StampMetadata
from stamping.adapters.pdf.testing import make_test_pdf

RESERVED = 48 * 1024  # bytes for the CMS the platform will return (chain + timestamp)


@dataclass
class PreparedForgery:
    digest_sha256: bytes
    _prepared: PreparedByteRangeDigest
    _output: BytesIO

    def finish(self, cms_der: bytes) -> bytes:
        """The PDF with the platform's detached signature embedded."""
        PdfTBSDocument.finish_signing(self._output, self._prepared, cms.ContentInfo.load(cms_der))
        return self._output.getvalue()


async def prepare_forgery(claimed: StampMetadata, pdf: bytes | None = None) -> PreparedForgery:
    writer = IncrementalPdfFileWriter(BytesIO(pdf or make_test_pdf(pages=1)))
    signer = signers.ExternalSigner(None, None, signature_value=bytes(256))
    pdf_signer = PdfSigner(PdfSignatureMetadata(field_name="Seal1", md_algorithm="sha256",
                                                name=claimed.display_name()),
                           signer, new_field_spec=fields.SigFieldSpec("Seal1", on_page=0, box=(100, 100, 200, 200)))
    session = pdf_signer.init_signing_session(writer)
    tbs = session.prepare_tbs_document(validation_info=None, bytes_reserved=RESERVED)
    sig_dict = session.sig_field["/V"]
    assert isinstance(sig_dict, SignatureObject)
    sig_dict[generic.NameObject(SIG_DICT_KEY)] = generic.TextStringObject(claimed.to_json())
    prepared, output = tbs.digest_tbs_document()
    return PreparedForgery(prepared.document_digest, prepared, output)  # type: ignore[arg-type]
