"""Seal and signature images: shape, colour, determinism, text placement, input checks."""

from __future__ import annotations

import io
import random
import zlib

import pytest
from PIL import Image, ImageChops, ImageDraw
from seals.adapters.rendering import fonts
from seals.adapters.rendering.errors import (
    FontMissing,
    ImageTooLarge,
    ImageTooSmall,
    InvalidUscc,
    NameRequired,
    NameTooLong,
    NotPng,
    RenderError,
    SignatureEmpty,
    UnknownSealType,
    UnsupportedCharacters,
)
from seals.adapters.rendering.seal_renderer import (
    SealText,
    render_seal,
    split_seal_name,
)
from seals.adapters.rendering.seal_types import SEAL_TYPES, default_seal_name
from seals.adapters.rendering.signature_renderer import (
    generate_signature,
    normalize_handwritten,
)

USCC = "91220101MA0Y3XXX7K"
SAMPLES = {
    "round": ("contract", "长春市示例科技有限公司合同专用章"),
    "oval": ("invoice", "长春市示例商贸有限公司发票专用章"),
    "square": ("legal_representative", "张三"),
}


def alpha(image: Image.Image, xy: tuple[int, int]) -> int:
    value = image.getchannel("A").getpixel(xy)
    assert isinstance(value, int)
    return value


def pixels(image: Image.Image) -> list[tuple[int, int, int, int]]:
    r, g, b, a = (image.getchannel(band).tobytes() for band in "RGBA")
    return list(zip(r, g, b, a, strict=True))


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


def inked(image: Image.Image, region: Image.Image | None = None) -> int:
    """Pixels at least half opaque, optionally only inside a white-on-black region mask."""
    solid = image.getchannel("A").point(lambda a: 255 if a >= 128 else 0)
    if region is not None:
        solid = ImageChops.multiply(solid, region)
    return solid.histogram()[255]


def region(
    image: Image.Image, shape: str, box: tuple[float, float, float, float]
) -> Image.Image:
    """A mask of ``box`` (fractions of the image size) filled as an ellipse or rectangle."""
    mask = Image.new("L", image.size, 0)
    w, h = image.size
    xy = (box[0] * w, box[1] * h, box[2] * w, box[3] * h)
    draw = ImageDraw.Draw(mask)
    (draw.ellipse if shape == "ellipse" else draw.rectangle)(xy, fill=255)
    return mask


def upper_arc_band(image: Image.Image) -> Image.Image:
    """Between the ring and the star, above the centre line (where the name goes)."""
    outer = region(image, "ellipse", (0.08, 0.08, 0.92, 0.92))
    inner = region(image, "ellipse", (0.30, 0.30, 0.70, 0.70))
    upper = region(image, "rect", (0, 0, 1, 0.5))
    return ImageChops.multiply(ImageChops.subtract(outer, inner), upper)


def under_star(image: Image.Image) -> Image.Image:
    return region(image, "rect", (0.36, 0.68, 0.64, 0.80))


def render(shape: str) -> bytes:
    type_code, name = SAMPLES[shape]
    return render_seal(type_code, name, uscc=USCC)


# --- catalogue -------------------------------------------------------------------------


def test_catalogue_has_the_required_types_and_shapes() -> None:
    shapes = {code: t.shape for code, t in SEAL_TYPES.items()}
    assert shapes["official"] == shapes["contract"] == shapes["finance"] == "round"
    assert shapes["invoice"] == "oval"
    assert shapes["legal_representative"] == "square"
    assert SEAL_TYPES["contract"].label == "合同专用章"


def test_default_name_is_enterprise_name_plus_label() -> None:
    assert default_seal_name("示例有限公司", "finance") == "示例有限公司财务专用章"


def test_default_name_of_legal_representative_seal_is_the_persons_name() -> None:
    assert (
        default_seal_name(
            "示例有限公司", "legal_representative", legal_representative="张三"
        )
        == "张三"
    )
    with pytest.raises(NameRequired):
        default_seal_name("示例有限公司", "legal_representative")


# --- every shape -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", SAMPLES)
def test_seal_is_a_large_rgba_png_with_transparent_corners(shape: str) -> None:
    image = decode(render(shape))
    assert image.mode == "RGBA"
    assert image.width >= 600 and image.height >= 400
    w, h = image.size
    for corner in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]:
        assert alpha(image, corner) == 0


@pytest.mark.parametrize("shape", SAMPLES)
def test_seal_ink_is_red(shape: str) -> None:
    image = decode(render(shape))
    visible = [p for p in pixels(image) if p[3] > 0]
    assert len(visible) > 0.05 * image.width * image.height
    red = [p for p in visible if p[0] >= 200 and p[1] <= 40 and p[2] <= 40]
    assert len(red) >= 0.95 * len(visible)


@pytest.mark.parametrize("shape", SAMPLES)
def test_seal_rendering_is_deterministic(shape: str) -> None:
    assert render(shape) == render(shape)


@pytest.mark.parametrize("type_code", list(SEAL_TYPES))
def test_every_seal_type_renders(type_code: str) -> None:
    name = (
        "王五"
        if type_code == "legal_representative"
        else "示例有限公司" + SEAL_TYPES[type_code].label
    )
    assert decode(render_seal(type_code, name, uscc=USCC)).width >= 600


# --- round -----------------------------------------------------------------------------


def test_round_seal_draws_the_name_along_the_upper_arc() -> None:
    long = decode(render_seal("contract", "长春市示例科技有限公司"))
    short = decode(render_seal("contract", "甲"))
    band = upper_arc_band(long)
    assert inked(long, band) > 3 * inked(short, band) > 0


def test_label_at_the_end_of_the_name_goes_under_the_star() -> None:
    with_label = decode(render_seal("contract", "长春市示例科技有限公司合同专用章"))
    without = decode(render_seal("contract", "长春市示例科技有限公司"))
    assert inked(with_label, under_star(with_label)) > 500
    assert inked(without, under_star(without)) == 0


def test_name_split_between_arc_and_bottom() -> None:
    assert split_seal_name("contract", "示例公司合同专用章") == SealText(
        "示例公司", "合同专用章"
    )
    assert split_seal_name("contract", "示例公司") == SealText("示例公司", "")
    assert split_seal_name("contract", "合同专用章") == SealText("合同专用章", "")
    # A 公章 shows only the name and the star.
    assert split_seal_name("official", "示例公司法定名称章") == SealText("示例公司", "")
    assert split_seal_name("invoice", "示例公司") == SealText("示例公司", "发票专用章")


def test_surrounding_whitespace_is_not_drawn() -> None:
    assert render_seal("finance", "  示例公司财务专用章 ") == render_seal(
        "finance", "示例公司财务专用章"
    )


# --- oval ------------------------------------------------------------------------------


def test_invoice_seal_draws_the_credit_code_across_the_middle() -> None:
    middle = region(decode(render("oval")), "rect", (0.2, 0.44, 0.8, 0.58))
    with_code = decode(render_seal("invoice", "示例公司发票专用章", uscc=USCC))
    without = decode(render_seal("invoice", "示例公司发票专用章"))
    assert inked(with_code, middle) > 1000
    assert inked(without, middle) == 0


@pytest.mark.parametrize(
    "uscc", ["123", "91220101MA0Y3XXX7KK", "91220101MA0Y3XXXIO", "中" * 18]
)
def test_invoice_seal_refuses_a_malformed_credit_code(uscc: str) -> None:
    with pytest.raises(InvalidUscc) as err:
        render_seal("invoice", "示例公司发票专用章", uscc=uscc)
    assert err.value.code == "invalid_uscc"


# --- square ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "grid"),
    [
        ("张三", "张三之印"),
        ("李小龙", "李小龙印"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("爱新觉罗溥", "爱新觉罗溥印"),
    ],
)
def test_legal_representative_name_is_completed_to_fill_the_grid(
    name: str, grid: str
) -> None:
    assert split_seal_name("legal_representative", name).main == grid
    assert render_seal("legal_representative", name) == render_seal(
        "legal_representative", grid
    )


def test_square_seal_reads_right_column_first() -> None:
    image = decode(render_seal("legal_representative", "一二三四"))
    # Cells inside the border: 一 top right, 二 below it, then 三 top left, 四 below it.
    ink = {
        cell: inked(image, region(image, "rect", box))
        for cell, box in {
            "top_right": (0.52, 0.1, 0.9, 0.48),
            "bottom_right": (0.52, 0.52, 0.9, 0.9),
            "top_left": (0.1, 0.1, 0.48, 0.48),
        }.items()
    }
    assert ink["bottom_right"] > 1.5 * ink["top_right"]
    assert ink["top_left"] > 1.2 * ink["bottom_right"]


def test_legal_representative_name_longer_than_six_is_refused() -> None:
    with pytest.raises(NameTooLong):
        render_seal("legal_representative", "一二三四五六七")


# --- input checks ----------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\ue000", "😀", "\u200b", "\x07"])
def test_undrawable_character_is_refused_and_named(char: str) -> None:
    with pytest.raises(UnsupportedCharacters) as err:
        render_seal("contract", f"示例{char}公司合同专用章")
    assert err.value.chars == [char]
    assert err.value.code == "unsupported_characters"
    assert f"U+{ord(char):04X}" in str(err.value)


def test_name_of_51_characters_is_refused_and_50_accepted() -> None:
    with pytest.raises(NameTooLong) as err:
        render_seal("contract", "中" * 51)
    assert err.value.code == "name_too_long"
    assert decode(render_seal("contract", "中" * 50)).width >= 600


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_empty_name_is_refused(name: str) -> None:
    with pytest.raises(NameRequired) as err:
        render_seal("contract", name)
    assert err.value.code == "name_required"


def test_unknown_seal_type_is_refused() -> None:
    with pytest.raises(UnknownSealType) as err:
        render_seal("party", "示例公司")
    assert err.value.code == "unknown_seal_type"


def test_render_errors_are_value_errors_with_codes() -> None:
    assert issubclass(RenderError, ValueError)
    assert not issubclass(FontMissing, RenderError)


# --- fonts -----------------------------------------------------------------------------


def test_check_coverage_lists_each_missing_character_once() -> None:
    face = fonts.seal_font()
    assert fonts.check_coverage(
        face.path, "示例😀公司😀\ue000", font_index=face.index
    ) == [
        "😀",
        "\ue000",
    ]
    assert (
        fonts.check_coverage(face.path, "长春市示例有限公司", font_index=face.index)
        == []
    )


def test_fonts_are_the_expected_faces() -> None:
    assert fonts.seal_font().family == "Noto Serif CJK SC"
    assert fonts.signature_font().family == "AR PL UKai CN"


def test_missing_font_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = fonts._Wanted(
        "Nope CJK", ("/nonexistent/nope.ttc", "nope-cjk.ttc"), "fonts-noto-cjk"
    )
    monkeypatch.setattr(fonts, "_SEAL_FONTS", (absent,))
    with pytest.raises(FontMissing) as err:
        fonts.seal_font.__wrapped__()
    assert "fonts-noto-cjk" in str(err.value)


# --- generated signature ---------------------------------------------------------------


def test_generated_signature_is_dark_ink_on_transparent_background() -> None:
    image = decode(generate_signature("张三"))
    assert image.mode == "RGBA"
    assert 200 <= image.height <= 400 and image.width > image.height
    assert alpha(image, (0, 0)) == 0
    assert alpha(image, (image.width - 1, image.height - 1)) == 0
    ink = [p for p in pixels(image) if p[3] >= 128]
    assert len(ink) > 2000
    assert all(max(p[:3]) <= 40 for p in ink)


def test_generated_signature_is_deterministic_and_depends_on_the_name() -> None:
    assert generate_signature("张三") == generate_signature("张三")
    assert generate_signature("张三") != generate_signature("李四")


def test_generated_signature_refuses_bad_names() -> None:
    with pytest.raises(NameRequired):
        generate_signature(" ")
    with pytest.raises(UnsupportedCharacters):
        generate_signature("张😀")
    with pytest.raises(NameTooLong):
        generate_signature("张" * 51)


# --- handwritten signature -------------------------------------------------------------


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def stroke_on(
    background: tuple[int, ...], mode: str = "RGB", size: tuple[int, int] = (400, 200)
) -> Image.Image:
    single = len(background) == 1
    image = Image.new(mode, size, background[0] if single else background)
    ink: int | tuple[int, ...] = 0 if single else (0, 0, 0, 255)[: len(background)]
    ImageDraw.Draw(image).line(
        [(60, 150), (150, 50), (250, 140), (330, 60)], fill=ink, width=6
    )
    return image


def test_handwritten_signature_gets_transparent_background_and_dark_ink() -> None:
    result = decode(normalize_handwritten(png(stroke_on((255, 255, 255)))))
    assert result.mode == "RGBA"
    assert alpha(result, (0, 0)) == 0
    ink = [p for p in pixels(result) if p[3] >= 128]
    assert len(ink) > 500
    assert all(p[:3] == (17, 17, 17) for p in ink)
    # Cropped to the stroke (about 270 x 100) plus a margin, not the whole 400 x 200 pad.
    assert result.width < 360 and result.height < 150


@pytest.mark.parametrize(
    ("background", "mode"),
    [
        ((0, 0, 0, 0), "RGBA"),
        ((255,), "L"),
        ((245, 240, 225), "RGB"),
        ((65535,), "I;16"),
    ],
)
def test_handwritten_signature_accepts_common_png_kinds(
    background: tuple[int, ...], mode: str
) -> None:
    result = decode(normalize_handwritten(png(stroke_on(background, mode))))
    assert alpha(result, (0, 0)) == 0
    assert inked(result) > 500


def test_handwritten_signature_is_deterministic() -> None:
    data = png(stroke_on((255, 255, 255)))
    assert normalize_handwritten(data) == normalize_handwritten(data)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    stroke_on((255, 255, 255)).save(buffer, format="JPEG")
    return buffer.getvalue()


def corrupted_png() -> bytes:
    data = bytearray(png(stroke_on((255, 255, 255))))
    data[-20] ^= 0xFF  # inside the image data: CRC no longer matches
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        jpeg(),
        random.Random(1).randbytes(5000),
        b"",
        png(stroke_on((255, 255, 255)))[:300],
        corrupted_png(),
    ],
    ids=["jpeg", "random", "empty", "truncated", "bad-crc"],
)
def test_non_png_is_refused(data: bytes) -> None:
    with pytest.raises(NotPng) as err:
        normalize_handwritten(data)
    assert err.value.code == "not_png"


def png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size but whose data is tiny (a decompression bomb)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    chunk = b"IHDR" + ihdr
    crc = zlib.crc32(chunk).to_bytes(4, "big")
    idat = b"IDAT" + zlib.compress(b"\x00" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + len(ihdr).to_bytes(4, "big")
        + chunk
        + crc
        + (len(idat) - 4).to_bytes(4, "big")
        + idat
        + zlib.crc32(idat).to_bytes(4, "big")
    )


@pytest.mark.parametrize(
    "data",
    [
        png(Image.new("L", (5000, 100), 255)),
        png_claiming_size(100_000, 100_000),
        png(
            Image.frombytes(
                "RGB", (900, 900), random.Random(2).randbytes(900 * 900 * 3)
            )
        ),
    ],
    ids=["too-wide", "bomb-header", "over-2MB"],
)
def test_oversized_png_is_refused(data: bytes) -> None:
    with pytest.raises(ImageTooLarge) as err:
        normalize_handwritten(data)
    assert err.value.code == "image_too_large"


def test_tiny_png_is_refused() -> None:
    with pytest.raises(ImageTooSmall) as err:
        normalize_handwritten(png(Image.new("L", (40, 10), 255)))
    assert err.value.code == "image_too_small"


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (400, 200), (255, 255, 255)),
        Image.new("RGB", (400, 200), (235, 235, 230)),
        Image.new("RGBA", (400, 200), (0, 0, 0, 0)),
    ],
    ids=["white", "light-grey", "transparent"],
)
def test_blank_signature_is_refused(image: Image.Image) -> None:
    with pytest.raises(SignatureEmpty) as err:
        normalize_handwritten(png(image))
    assert err.value.code == "signature_empty"
