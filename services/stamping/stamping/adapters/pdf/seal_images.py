"""A seal's picture as a PDF image XObject, decoded and encoded once per picture (issue 18).

pyHanko's ``PdfImage`` turns a Pillow image into an image XObject for every document it is
drawn into: the alpha channel split off into an /SMask, both Flate-encoded when the revision
is written. With the PNG decoded each time as well, that was a fifth of a PDF worker's CPU
per stamp, for a picture that is the same in every stamp its seal makes. Here each PDF
process keeps, in small LRU caches, the decoded picture (by the PNG's bytes), a 骑缝章's
strips (by picture and count) and each picture's encoded streams; every document still gets
its own stream objects, holding the bytes ``pil_image`` would have written.

The pictures handed out are shared: nothing may change them in place (Pillow's operations
used here all return new images).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.images import PdfImage, pil_image
from pyhanko.pdf_utils.writer import BasePdfFileWriter, PdfFileWriter

from shared.lru import Lru

PDF_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA")  # what pyHanko's pil_image embeds
# A decoded seal is ~2 MiB (seals draws 16 px/mm: a 42 mm seal is ~690 px square, RGBA), its
# encoded XObject a few tens of KiB: a few hot seals per process, within ~20-50 MiB at worst.
PICTURES_KEPT = 8  # decoded pictures, by PNG
DERIVED_KEPT = 32  # XObjects and strip sets, each holding the picture it was made from

T = TypeVar("T")


def open_picture(png: bytes) -> Image.Image:
    """The PNG decoded, in a mode pyHanko embeds (fresh each call: the raw baseline's way)."""
    image: Image.Image = Image.open(BytesIO(png))
    image.load()
    return image if image.mode in PDF_MODES else image.convert("RGBA")


@functools.lru_cache(maxsize=PICTURES_KEPT)
def picture(png: bytes) -> Image.Image:
    """``open_picture``, kept: the same image object for the same PNG."""
    return open_picture(png)


# (id of the picture, what was made of it) -> (the picture, what was made): each entry holds
# its picture, so the id cannot be reused by another object while the entry lives
_kept: Lru[tuple[int, Any], tuple[Image.Image, Any]] = Lru(DERIVED_KEPT)


def kept(image: Image.Image, tag: Any, make: Callable[[], T]) -> T:
    """What ``make`` derives from ``image`` (``tag`` names which), made once per image."""
    key = (id(image), tag)
    found = _kept.get(key)
    if found is not None and found[0] is image:
        value: T = found[1]
        return value
    value = make()
    _kept.put(key, (image, value))
    return value


@dataclass(frozen=True)
class EncodedImage:
    """An image XObject's entries and its encoded stream, with its /SMask's."""

    entries: tuple[tuple[generic.NameObject, generic.PdfObject], ...]
    data: bytes
    smask: EncodedImage | None

    @classmethod
    def of(cls, image: Image.Image) -> EncodedImage:
        """Made by pyHanko's own ``pil_image``, into a writer of its own."""
        writer = PdfFileWriter()  # type: ignore[no-untyped-call]
        return cls._from(pil_image(image, writer).get_object())

    @classmethod
    def _from(cls, stream: generic.StreamObject) -> EncodedImage:
        smask = stream.get("/SMask")
        return cls(tuple((k, v) for k, v in stream.items() if k not in ("/SMask", "/Length")),
                   stream.encoded_data,
                   cls._from(smask.get_object()) if smask is not None else None)

    def add_to(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        entries = generic.DictionaryObject(dict(self.entries))  # type: ignore[no-untyped-call]
        if self.smask is not None:
            entries[generic.NameObject("/SMask")] = self.smask.add_to(writer)
        ref: generic.IndirectObject = writer.add_object(
            generic.StreamObject(entries, encoded_data=self.data))
        return ref


class KeptImage(PdfImage):
    """``PdfImage`` whose XObject streams are encoded once per image and copied into each
    document (pyHanko encodes them again for every writer)."""

    @property
    def image_ref(self) -> generic.IndirectObject:
        assert self.writer is not None
        ref = self._image_ref
        if ref is None or ref.get_pdf_handler() is not self.writer:  # type: ignore[no-untyped-call]
            encoded = kept(self.image, "xobject", lambda: EncodedImage.of(self.image))
            self._image_ref = ref = encoded.add_to(self.writer)
        return ref
