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
    StampBox,
    boxes_for_spots,
    cross_page_boxes,
    finish_ofd_stamp,
    prepare_ofd_placement,
    prepare_ofd_stamp,
    prepare_ofd_stamps,
    stamp_ofd,
    stamp_ofd_boxes,
)
from .text import find_text
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
    "StampBox",
    "TooManyPages",
    "UnsafeOfd",
    "boxes_for_spots",
    "check_point",
    "cross_page_boxes",
    "find_text",
    "finish_ofd_stamp",
    "inspect_ofd",
    "is_ofd",
    "prepare_ofd_placement",
    "prepare_ofd_stamp",
    "prepare_ofd_stamps",
    "stamp_ofd",
    "stamp_ofd_boxes",
    "verify_ofd",
]
