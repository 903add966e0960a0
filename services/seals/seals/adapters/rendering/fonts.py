"""Locating the fonts seal and signature images are drawn with, and checking coverage.

Fonts come from Debian packages: ``fonts-noto-cjk`` (seal text, 宋体-like Noto Serif CJK SC
Bold, falling back to Noto Sans CJK SC Bold) and ``fonts-arphic-ukai`` (楷体 signatures).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont  # type: ignore[import-untyped]
from PIL import ImageFont

from .errors import FontMissing, UnsupportedCharacters

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int  # face inside a .ttc collection
    family: str
    # Top of the ideographic em box above the baseline, as a fraction of the em.
    ascent: float


@dataclass(frozen=True)
class _Wanted:
    family: str
    # Known Debian paths first, then bare file names searched for in FONT_DIRS.
    files: tuple[str, ...]
    package: str


_SEAL_FONTS = (
    _Wanted(
        "Noto Serif CJK SC",
        (
            "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
            "NotoSerifCJK-Bold.ttc",
            "NotoSerifCJKsc-Bold.otf",
        ),
        "fonts-noto-cjk",
    ),
    _Wanted(
        "Noto Sans CJK SC",
        (
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
            "NotoSansCJK-Bold.ttc",
            "NotoSansCJKsc-Bold.otf",
        ),
        "fonts-noto-cjk",
    ),
)

_SIGNATURE_FONTS = (
    _Wanted(
        "AR PL UKai CN",
        ("/usr/share/fonts/truetype/arphic/ukai.ttc", "ukai.ttc"),
        "fonts-arphic-ukai",
    ),
)


@lru_cache(maxsize=1)
def seal_font() -> FontFace:
    """The bold 宋体-like face seal text is drawn with."""
    return _locate(_SEAL_FONTS, "Noto Serif CJK SC Bold")


@lru_cache(maxsize=1)
def code_font() -> FontFace:
    """A bold sans face for the credit code on invoice seals (Arial-like on real ones)."""
    return _locate((_SEAL_FONTS[1], _SEAL_FONTS[0]), "Noto Sans CJK SC Bold")


@lru_cache(maxsize=1)
def signature_font() -> FontFace:
    """The 楷体 face generated personal signatures are written with."""
    return _locate(_SIGNATURE_FONTS, "AR PL UKai CN")


def check_coverage(font_path: str, text: str, *, font_index: int = 0) -> list[str]:
    """Characters of ``text`` the font cannot draw, each once, in order of appearance.

    Control and format characters count as undrawable even when mapped, since they
    would draw nothing (or a box) and make the visible text differ from the name.
    """
    cmap = _codepoints(font_path, font_index)
    missing: list[str] = []
    for char in text:
        drawable = ord(char) in cmap and unicodedata.category(char) not in _INVISIBLE
        if not drawable and char not in missing:
            missing.append(char)
    return missing


def require_coverage(face: FontFace, text: str) -> None:
    missing = check_coverage(face.path, text, font_index=face.index)
    if missing:
        raise UnsupportedCharacters(missing)


def pil_font(face: FontFace, size_px: int) -> ImageFont.FreeTypeFont:
    """A loaded font, cached per thread: a FreeType face must not be shared by threads."""
    cache: dict[tuple[FontFace, int], ImageFont.FreeTypeFont]
    cache = _thread_fonts.__dict__.setdefault("fonts", {})
    font = cache.get((face, size_px))
    if font is None:
        # BASIC layout: the same output whether or not libraqm is installed.
        font = ImageFont.truetype(
            face.path, size_px, index=face.index, layout_engine=ImageFont.Layout.BASIC
        )
        if len(cache) >= 64:
            cache.clear()
        cache[(face, size_px)] = font
    return font


_thread_fonts = threading.local()
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@lru_cache(maxsize=8)
def _codepoints(font_path: str, font_index: int) -> frozenset[int]:
    font = TTFont(font_path, fontNumber=font_index, lazy=True)
    try:
        return frozenset(font.getBestCmap() or ())
    finally:
        font.close()


def _locate(choices: tuple[_Wanted, ...], description: str) -> FontFace:
    for wanted in choices:
        for path in _candidate_paths(wanted.files):
            face = _face_in(path, wanted.family)
            if face is not None:
                return face
    raise FontMissing(description, choices[0].package)


def _candidate_paths(files: tuple[str, ...]) -> list[Path]:
    known = [Path(f) for f in files if f.startswith("/")]
    names = [f for f in files if not f.startswith("/")]
    found = [p for p in known if p.is_file()]
    for directory in FONT_DIRS:
        root = Path(directory)
        if root.is_dir():
            for name in names:
                found.extend(sorted(root.rglob(name)))
    return found


def _face_in(path: Path, family: str) -> FontFace | None:
    """The face of ``family`` inside a font file (a .ttc holds several regional faces)."""
    fonts = (
        TTCollection(str(path), lazy=True).fonts
        if path.suffix == ".ttc"
        else [TTFont(str(path), lazy=True)]
    )
    try:
        for index, font in enumerate(fonts):
            if family in (font["name"].getDebugName(16), font["name"].getDebugName(1)):
                os2, head = font["OS/2"], font["head"]
                ascent = os2.sTypoAscender / head.unitsPerEm
                return FontFace(str(path), index, family, ascent)
        return None
    finally:
        for font in fonts:
            font.close()
