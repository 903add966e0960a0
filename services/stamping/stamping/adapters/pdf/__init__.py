"""PDF stamping library: input checks, PAdES B-LT signing via a remote key, verification.

Pure: no database, no HTTP. See the module docstrings for the design choices.
"""

from shared import asn1_lengths  # noqa: F401 - installs asn1crypto's corrected length test

from .limits import (
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_SIGNATURES,
    DocumentTooComplex,
    TooManyPages,
    TooManySignatures,
    check_limits,
)
from .metadata import SIG_DICT_KEY, StampMetadata
from .pki import as_asn1_cert, as_asn1_crl, offline_validation_context
from .signing import (
    DigestSigner,
    RemoteSigner,
    SealCertificateInvalid,
    StampSigningError,
    raw_stamp_in_process,
    seal_stamp_style,
    sign_detached_digest,
    stamp_pdf,
)
from .validation import (
    DEFAULT_MAX_PDF_BYTES,
    DEFAULT_SEAL_SIZE_PT,
    NotAPdf,
    PageOutOfRange,
    PdfEncrypted,
    PdfError,
    PdfInfo,
    PdfTooLarge,
    PositionOffPage,
    SignatureFieldExists,
    check_position,
    inspect_pdf,
)
from .verification import SignatureReport, VerificationReport, verify_pdf

__all__ = [
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_SIGNATURES",
    "DocumentTooComplex",
    "TooManyPages",
    "TooManySignatures",
    "check_limits",
    "DEFAULT_MAX_PDF_BYTES",
    "DEFAULT_SEAL_SIZE_PT",
    "SIG_DICT_KEY",
    "DigestSigner",
    "NotAPdf",
    "PageOutOfRange",
    "PdfEncrypted",
    "PdfError",
    "PdfInfo",
    "PdfTooLarge",
    "PositionOffPage",
    "RemoteSigner",
    "SealCertificateInvalid",
    "SignatureFieldExists",
    "SignatureReport",
    "StampMetadata",
    "StampSigningError",
    "VerificationReport",
    "as_asn1_cert",
    "as_asn1_crl",
    "check_position",
    "inspect_pdf",
    "offline_validation_context",
    "raw_stamp_in_process",
    "seal_stamp_style",
    "sign_detached_digest",
    "stamp_pdf",
    "verify_pdf",
]
