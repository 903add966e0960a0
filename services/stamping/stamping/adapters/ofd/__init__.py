"""OFD (GB/T 33190) library: safe reading, inspection, verification of GB/T 38540 seal
signatures and plain SM2 signatures, and stamping. Pure: no database, no HTTP."""

from .document import MAX_PAGES, OfdInfo, OfdPage, OfdSignatureEntry, check_point, inspect_ofd
from .errors import (
    NotAnOfd,
    OfdError,
    OfdTooComplex,
    PageOutOfRange,
    PositionOffPage,
    TooManyPages,
    UnsafeOfd,
)
from .package import Limits, is_ofd
from .stamping import (
    LocalOfdSigner,
    OfdSigner,
    OfdSigningFailed,
    PreparedOfdStamp,
    finish_ofd_stamp,
    prepare_ofd_stamp,
    stamp_ofd,
)
from .verification import CertificateSummary, OfdSignatureResult, OfdVerification, verify_ofd

__all__ = [
    "MAX_PAGES",
    "CertificateSummary",
    "Limits",
    "LocalOfdSigner",
    "NotAnOfd",
    "OfdError",
    "OfdInfo",
    "OfdPage",
    "OfdSignatureEntry",
    "OfdSignatureResult",
    "OfdSigner",
    "OfdSigningFailed",
    "OfdTooComplex",
    "OfdVerification",
    "PageOutOfRange",
    "PositionOffPage",
    "PreparedOfdStamp",
    "TooManyPages",
    "UnsafeOfd",
    "check_point",
    "finish_ofd_stamp",
    "inspect_ofd",
    "is_ofd",
    "prepare_ofd_stamp",
    "stamp_ofd",
    "verify_ofd",
]
