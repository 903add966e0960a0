"""The seal's picture kept per PDF process (issue 18): the image XObject the platform writes is
the one plain pyHanko writes, byte for byte, and it is decoded and encoded once per picture."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.writer import PdfFileWriter
from stamping.adapters.pdf import seal_images
from stamping.adapters.pdf.seal_images import KeptImage, open_picture, picture
from stamping.adapters.pdf.signing import Mark, layout_marks
from stamping.adapters.pdf.validation import inspect_pdf

from shared.lru import Lru
from tests.support.pdf_fixtures import make_seal_png, make_test_pdf


def _image(mode: str) -> Image.Image:
    rgba = Image.new("RGBA", (61, 47), (0, 0, 0, 0))
    for x in range(61):
        for y in range(47):
            if (x - 30) ** 2 + (y - 23) ** 2 < 400:
                rgba.putpixel((x, y), (200 + x % 50, 10 + y, 30, 128 + x))
    if mode == "P":
        return rgba.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "PA":
        return rgba.convert("PA")
    return rgba.convert(mode)


def _written(stream: Any) -> tuple[dict[str, Any], bytes, Any]:
    """A written image XObject as (entries but /SMask and /Length, encoded data, its /SMask's)."""
    entries = {str(k): v for k, v in stream.items() if k not in ("/SMask", "/Length")}
    smask = stream.get("/SMask")
    return entries, stream.encoded_data, _written(smask.get_object()) if smask is not None else None


def _ref(image: PdfImage) -> Any:
    image.set_writer(PdfFileWriter())  # type: ignore[no-untyped-call]
    return image.image_ref


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA", "P", "PA"])
def test_the_kept_xobject_is_what_plain_pyhanko_writes(mode: str) -> None:
    img = _image(mode)
    plain = _written(_ref(PdfImage(img)).get_object())
    first, second = _ref(KeptImage(img)), _ref(KeptImage(img))
    assert _written(first.get_object()) == plain
    assert _written(second.get_object()) == plain  # from the cache
    assert first.get_pdf_handler() is not second.get_pdf_handler()
    assert first.get_object() is not second.get_object()  # each document its own objects
    if mode.endswith("A"):
        assert plain[2] is not None  # the alpha channel is an /SMask, kept with it


def test_a_picture_is_encoded_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Image.Image] = []
    real = seal_images.pil_image

    def counting(image: Image.Image, writer: Any) -> generic.IndirectObject:
        made.append(image)
        ref: generic.IndirectObject = real(image, writer)
        return ref
    monkeypatch.setattr(seal_images, "pil_image", counting)
    one, other = _image("RGBA"), _image("RGBA")
    for _ in range(3):
        _ref(KeptImage(one))
    assert len(made) == 1 and made[0] is one  # once (pyHanko makes its /SMask inside)
    _ref(KeptImage(other))  # equal pixels, another picture: its own entry
    assert len(made) == 2 and made[1] is other


def test_the_same_png_gives_the_same_picture_and_other_modes_are_converted() -> None:
    png = make_seal_png()
    assert picture(png) is picture(png)
    assert picture(png).tobytes() == open_picture(png).tobytes()
    assert open_picture(png) is not open_picture(png)  # the raw baseline's: fresh each time
    cmyk = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(cmyk, format="JPEG")
    assert open_picture(cmyk.getvalue()).mode == "RGBA"


def test_a_cross_page_seal_is_cut_once_per_picture_and_count() -> None:
    info = inspect_pdf(make_test_pdf(pages=3))
    seal = picture(make_seal_png())
    marks = [Mark(1, None, 300.0), Mark(2, None, 300.0), Mark(3, None, 300.0)]
    first = layout_marks(info, marks, seal, 120.0, 120.0)
    again = layout_marks(info, marks, seal, 120.0, 120.0)
    assert [a.image for a in first] == [a.image for a in again]
    assert all(a.image is b.image for a, b in zip(first, again, strict=True))
    two = layout_marks(info, marks[:2], seal, 120.0, 120.0)
    assert two[0].image.width != first[0].image.width  # another count, other strips


def test_what_is_kept_is_bounded_and_keeps_the_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seal_images, "_kept", Lru(2))
    made: list[int] = []
    images = [Image.new("L", (1, 1)) for _ in range(3)]

    def get(i: int) -> int:
        def make() -> int:
            made.append(i)
            return i
        return seal_images.kept(images[i], "x", make)

    get(0), get(1), get(0), get(2)  # 1 is the least recently used when 2 comes
    assert made == [0, 1, 2]
    get(0)
    assert made == [0, 1, 2]  # still kept
    get(1)
    assert made == [0, 1, 2, 1]  # was dropped, made again
    assert seal_images.picture.cache_info().maxsize == seal_images.PICTURES_KEPT
