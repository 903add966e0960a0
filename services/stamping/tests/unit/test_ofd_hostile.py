"""Hostile OFD packages: traversal, duplicates, XXE, zip bombs, and a small fuzz."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from ofd_support import build_pki, raw_zip, rewrite, vector
from stamping.adapters.ofd import (
    Limits,
    NotAnOfd,
    OfdTooComplex,
    TooManyPages,
    UnsafeOfd,
    inspect_ofd,
    stamp_ofd,
    verify_ofd,
)

from shared.errors import EsealError

HELLO = vector("helloworld.ofd")
FUZZ_ROUNDS = 120


def _entries() -> list[tuple[str, bytes]]:
    z = zipfile.ZipFile(io.BytesIO(HELLO))
    return [(i.filename, z.read(i)) for i in z.infolist() if not i.filename.endswith("/")]


@pytest.mark.parametrize(
    "evil",
    [
        "../evil.xml",  # attack input
        "Doc_0/../../evil.xml",
        "/etc/passwd",
        "Doc_0\\..\\x.xml",
        "C:/x.xml",
        "Doc_0/./x.xml",
        "a//b.xml",
    ],
)
def test_path_traversal_entry_names_refused(evil: str) -> None:
    with pytest.raises(UnsafeOfd):
        inspect_ofd(raw_zip([*_entries(), (evil, b"x")]))


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entries_refused_even_by_case() -> None:
    entries = _entries()
    with pytest.raises(UnsafeOfd):
        inspect_ofd(raw_zip([*entries, ("OFD.xml", b"<x/>")]))
    with pytest.raises(UnsafeOfd):
        inspect_ofd(raw_zip([*entries, ("ofd.XML", b"<x/>")]))


def test_locations_cannot_escape_the_package() -> None:
    def edit(name: str, content: bytes) -> bytes:
        return (
            content.replace(b"Doc_0/Document.xml", b"../../Doc_0/Document.xml")  # attack input
            if name == "OFD.xml"
            else content
        )

    with pytest.raises(UnsafeOfd):
        inspect_ofd(rewrite(HELLO, edit))


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ofd:OFD [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocInfo><ofd:Title>&xxe;</ofd:Title>
</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>&lol3;</ofd:DocRoot></ofd:DocBody></ofd:OFD>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS])
def test_dtd_and_entities_refused(payload: bytes) -> None:
    data = rewrite(HELLO, lambda n, c: payload if n == "OFD.xml" else c)
    with pytest.raises(UnsafeOfd):
        inspect_ofd(data)
    with pytest.raises(UnsafeOfd):
        verify_ofd(data)


def test_xxe_in_a_signature_file_is_refused_not_resolved() -> None:
    def edit(name: str, content: bytes) -> bytes:
        if name == "Doc_0/Signs/Sign_0/Signature.xml":
            return content.replace(
                b'<?xml version="1.0" encoding="UTF-8"?>',
                b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
            )
        return content

    report = verify_ofd(rewrite(vector("SESV4SignDoc.ofd"), edit))
    assert report.signatures[0].status == "failed"


def test_zip_bomb_refused_while_decompressing() -> None:
    bomb = b"\x00" * (8 * 1024 * 1024)  # deflates to ~8 KB
    data = rewrite(HELLO, lambda n, c: c, extra={"Doc_0/Res/bomb.bin": bomb})
    pki = build_pki()
    # Ratio check with the default limits (the stamping path reads every file).
    with pytest.raises(OfdTooComplex):
        stamp_ofd(data, pki.seal, pki.signer, 1, 10, 10, 40, 40)
    # Hard size limit, whatever the ZIP headers claim.
    with pytest.raises(OfdTooComplex):
        stamp_ofd(data, pki.seal, pki.signer, 1, 10, 10, 40, 40, limits=Limits(max_entry_bytes=1024 * 1024))


def test_lying_size_headers_do_not_bypass_the_limit() -> None:
    """Declared file_size says 10 bytes; the deflated stream holds 4 MiB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in _entries():
            z.writestr(name, content)
        z.writestr("Doc_0/Res/liar.bin", b"A" * (4 * 1024 * 1024))
    data = bytearray(buf.getvalue())
    # Patch the central directory's uncompressed size of the last entry (offset 24 in the record).
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    lh = data.rfind(b"PK\x03\x04")
    data[lh + 22 : lh + 26] = (10).to_bytes(4, "little")
    pki = build_pki()
    with pytest.raises((OfdTooComplex, NotAnOfd)):
        stamp_ofd(
            bytes(data), pki.seal, pki.signer, 1, 10, 10, 40, 40, limits=Limits(max_entry_bytes=1024 * 1024)
        )


def test_too_many_entries_and_pages() -> None:
    with pytest.raises(OfdTooComplex):
        inspect_ofd(
            raw_zip([*_entries(), *((f"Doc_0/Res/{i}.bin", b"") for i in range(30))]),
            limits=Limits(max_entries=20),
        )
    with pytest.raises(TooManyPages):
        inspect_ofd(vector("Page5.ofd"), max_pages=4)


@pytest.mark.parametrize(
    "data", [b"", b"PK\x03\x04garbage", b"%PDF-1.7", raw_zip([("Doc_0/Document.xml", b"<x/>")])]
)
def test_not_an_ofd(data: bytes) -> None:
    with pytest.raises(NotAnOfd):
        inspect_ofd(data)


def test_fuzz_packages_and_xml_fail_cleanly() -> None:
    """Random damage to the container bytes and to each XML part: only our errors, no 500s."""
    rng = random.Random(33190)
    pki = build_pki()

    def stamp(d: bytes) -> object:
        return stamp_ofd(d, pki.seal, pki.signer, 1, 10, 10, 40, 40)

    sources = [vector("SESV4SignDoc.ofd"), vector("DigitalSign.ofd"), vector("keyword.ofd"), HELLO]
    for _ in range(FUZZ_ROUNDS):
        src = rng.choice(sources)
        if rng.random() < 0.5:
            data = bytearray(src)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        else:
            names = [i.filename for i in zipfile.ZipFile(io.BytesIO(src)).infolist()]
            target = rng.choice([n for n in names if not n.endswith("/")])

            def edit(name: str, content: bytes, target=target) -> bytes:
                if name != target or not content:
                    return content
                b = bytearray(content)
                for _ in range(rng.randint(1, 4)):
                    b[rng.randrange(len(b))] = rng.choice(b"<>&\"'/ =\x00\xff0123456789")
                return bytes(b)

            data = rewrite(src, edit)
        for fn in (inspect_ofd, verify_ofd, stamp):
            try:
                fn(data)
            except EsealError:
                pass


@pytest.mark.parametrize("box", [b"0 0 nan 297", b"0 0 inf 297", b"0 0 -210 297", b"0 0 1e9 297", b"0 0 210"])
def test_absurd_page_boxes_refused(box: bytes) -> None:
    data = rewrite(HELLO, lambda n, c: c.replace(b"0 0 210 297", box) if n == "Doc_0/Document.xml" else c)
    with pytest.raises(NotAnOfd):
        inspect_ofd(data)
