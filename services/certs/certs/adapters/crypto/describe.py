"""How certificates are shown: serial numbers, display names (ID numbers masked), fingerprints."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from shared.people.elements import mask

__all__ = ["display_name", "fingerprint_sha256", "mask", "parse_serial", "serial_hex", "to_pem"]

# Attribute names that RFC 4514 leaves as dotted OIDs in cryptography's output.
_NAMES = {
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}
# Personal identifiers: shown with only their last 4 characters (docs/API.md masking rule).
_MASKED = {NameOID.SERIAL_NUMBER}


def display_name(name: x509.Name, *, masked: bool = True) -> str:
    """RFC 4514 string (most specific first); ID numbers masked unless ``masked=False``."""
    if masked:
        name = x509.Name([
            x509.RelativeDistinguishedName([
                x509.NameAttribute(a.oid, mask(str(a.value))) if a.oid in _MASKED else a
                for a in rdn
            ])
            for rdn in name.rdns
        ])
    return name.rfc4514_string(_NAMES)


def serial_hex(serial: int) -> str:
    """The serial number as the platform writes it: upper-case hex, no separators."""
    return format(serial, "X")


def parse_serial(text: str) -> int:
    return int(text, 16)


def normal_serial(text: str) -> str:
    """A serial a caller gave, as the platform writes it; "" when it is not one (not hex, or
    longer than any serial the platform issues): a lookup then finds nothing."""
    try:
        return serial_hex(parse_serial(text)) if len(text) <= 64 else ""
    except ValueError:
        return ""


def fingerprint_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()
