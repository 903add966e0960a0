"""Fixtures for the OFD tests: ofdrw's vectors, an SM2 PKI of our own, zip surgery."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509
from PIL import Image
from stamping.adapters.ofd import LocalOfdSigner

from shared.gm.pkcs12 import load_pkcs12
from shared.gm.ses import SealPicture, make_seal
from shared.gm.sm2 import Sm2PrivateKey
from shared.gm.x509 import (
    create_issuing_ca,
    create_root,
    issue_person_certificate,
    issue_seal_maker_certificate,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ofdrw"
NOW = datetime.now(UTC).replace(microsecond=0)


def vector(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def ofdrw_user():
    return load_pkcs12(vector("USER.p12"), "777777")


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    ca: x509.Certificate
    signer: LocalOfdSigner
    seal: bytes
    person_key: Sm2PrivateKey


def seal_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (120, 120), (210, 20, 20, 255)).save(buf, "PNG")
    return buf.getvalue()


def build_pki() -> Pki:
    root_key, ca_key, maker_key, person_key = (Sm2PrivateKey.generate() for _ in range(4))
    root = create_root(root_key, {"country_name": "CN", "common_name": "测试 SM2 根"})
    ca = create_issuing_ca(
        ca_key.public_key, {"country_name": "CN", "common_name": "测试 SM2 CA"}, root, root_key
    )
    maker = issue_seal_maker_certificate(maker_key.public_key, organization="测试平台", ca=ca, ca_key=ca_key)
    person = issue_person_certificate(
        person_key.public_key, name="张三", person_id="p-1", ca=ca, ca_key=ca_key
    )
    seal = make_seal(
        es_id="11010000000001",
        name="测试科技有限公司合同专用章",
        seal_type=3,
        signer_certificates=[person.dump()],
        valid_from=NOW - timedelta(days=1),
        valid_to=NOW + timedelta(days=365),
        picture=SealPicture("PNG", seal_png(), 42, 42),
        maker_key=maker_key,
        maker_certificate=maker.dump(),
    )
    return Pki(root, ca, LocalOfdSigner(person_key, person.dump()), seal, person_key)


def rewrite(
    data: bytes, edit: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None
) -> bytes:
    """Copy a zip, passing each file through ``edit`` (None drops it); add ``extra``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            new = content if info.filename.endswith("/") else edit(info.filename, content)
            if new is not None:
                dst.writestr(info.filename, new)
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def raw_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip with exactly these names (duplicates and odd names included)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries:
            z.writestr(zipfile.ZipInfo(name), content)
    return out.getvalue()
