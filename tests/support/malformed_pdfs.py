"""Malformed and hostile PDF bytes for upload tests (verification, stamp requests).

Each builder returns bytes a careless parser could choke on: cut short, not a PDF at all,
a cross-reference chain that loops, nesting deep enough to blow a recursive parser, a page
tree that contains itself, and compressed streams that inflate to hundreds of megabytes
("zip bombs" in an object stream and in a page's content). The platform must answer each
with a 4xx problem document within seconds, never a 500 and never a stuck worker.
"""

from __future__ import annotations

import os
import zlib

from tests.support.pdf_fixtures import make_test_pdf

__all__ = ["MALFORMED"]


def _pdf(
    objects: list[bytes], root: int = 1, *, prev: int | None = None, trailer_extra: bytes = b""
) -> bytes:
    """A classic PDF with the given objects (numbered from 1) and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    extra = f" /Prev {xref if prev == -1 else prev}".encode() if prev is not None else b""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R".encode() + extra + trailer_extra
    out += f" >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _bomb(size: int) -> bytes:
    """Deflate of ``size`` zero bytes, made without holding them in memory."""
    z, block, out = zlib.compressobj(9), bytes(1 << 20), bytearray()
    for _ in range(size >> 20):
        out += z.compress(block)
    return bytes(out + z.flush())


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + f" /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


def truncated() -> bytes:
    doc = make_test_pdf(pages=3)
    return doc[: len(doc) // 2]


def garbage() -> bytes:
    return os.urandom(64 * 1024)


def header_then_garbage() -> bytes:
    return b"%PDF-1.7\n" + os.urandom(32 * 1024)


def empty() -> bytes:
    return b""


def xref_loop() -> bytes:
    """The trailer's /Prev points at its own cross-reference table."""
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"], prev=-1)


def deep_nesting() -> bytes:
    depth = 200_000
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * depth + b"]" * depth + b" >>",
            b"<< /Type /Pages /Kids [] /Count 0 >>",
        ]
    )


def page_tree_cycle() -> bytes:
    """A page tree whose child is its own parent, claiming two billion pages."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2147483647 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 2147483647 >>",
        ]
    )


def object_stream_bomb() -> bytes:
    """An object stream that inflates to 256 MiB of zeros."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            _stream(b"/Type /ObjStm /N 1000000 /First 10 /Filter /FlateDecode", _bomb(256 << 20)),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R >>",
            _stream(b"/Filter /FlateDecode", _bomb(256 << 20)),
        ]
    )


def xref_stream_bomb() -> bytes:
    """A cross-reference stream (the only xref) that inflates to 256 MiB."""
    head = (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    )
    data = _bomb(256 << 20)
    xref = len(head)
    body = (
        head
        + b"3 0 obj\n"
        + _stream(b"/Type /XRef /Size 4 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode", data)
        + b"\nendobj\n"
    )
    return body + f"startxref\n{xref}\n%%EOF\n".encode()


def absurd_object_numbers() -> bytes:
    return _pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [999999999 0 R] /Count 1 >>"],
        trailer_extra=b" /Size 2147483647",
    )


MALFORMED = {
    "empty": empty,
    "truncated": truncated,
    "garbage": garbage,
    "header_then_garbage": header_then_garbage,
    "xref_loop": xref_loop,
    "deep_nesting": deep_nesting,
    "page_tree_cycle": page_tree_cycle,
    "object_stream_bomb": object_stream_bomb,
    "xref_stream_bomb": xref_stream_bomb,
    "absurd_object_numbers": absurd_object_numbers,
}
