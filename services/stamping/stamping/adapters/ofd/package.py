"""Reading an OFD container (a ZIP, GB/T 33190 §7) without trusting it.

Every entry name is checked before anything is read (no absolute paths, ``..``, backslashes,
NUL, drive letters, duplicates even by case); sizes are enforced while decompressing (the
sizes a ZIP declares are attacker-chosen); encrypted entries and exotic compression are
refused. XML is parsed by lxml with entity resolution, DTD loading and network access off,
and any DOCTYPE is refused outright (OFD never needs one): no XXE, no billion laughs.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from .errors import NotAnOfd, OfdTooComplex, UnsafeOfd

MAX_ENTRIES = 2000
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # uncompressed/compressed, checked for entries above 1 MiB
_CHUNK = 64 * 1024

OFD_NS = "http://www.ofdspec.org/2016"


@dataclass(frozen=True)
class Limits:
    max_entries: int = MAX_ENTRIES
    max_entry_bytes: int = MAX_ENTRY_BYTES
    max_total_bytes: int = MAX_TOTAL_BYTES


def check_entry_name(name: str) -> str:
    """The entry name, or UnsafeOfd. Directory entries keep their trailing slash."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        raise UnsafeOfd(f"unsafe entry name in OFD package: {name!r}")
    body = name[:-1] if name.endswith("/") else name
    parts = body.split("/")
    if any(p in ("", ".", "..") for p in parts) or (len(parts[0]) >= 2 and parts[0][1] == ":"):
        raise UnsafeOfd(f"unsafe entry name in OFD package: {name!r}")
    return name


def is_ofd(data: bytes) -> bool:
    """Content sniffing: a ZIP whose root holds OFD.xml with an <OFD> root element."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        pkg = OfdPackage(data)
        root = pkg.xml("OFD.xml")
    except Exception:  # noqa: BLE001 - sniffing answers yes/no, the real read reports why
        return False
    return bool(etree.QName(root).localname == "OFD")


class OfdPackage:
    """The entries of an OFD package, read lazily with limits; paths are package-absolute
    without the leading slash (``Doc_0/Document.xml``)."""

    def __init__(self, data: bytes, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        if not data.startswith(b"PK\x03\x04"):
            raise NotAnOfd("not a ZIP container")
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (
            zipfile.BadZipFile,
            ValueError,
            OSError,
            EOFError,
            NotImplementedError,  # zipfile's answer to a compression method it lacks
            UnicodeDecodeError,
        ) as e:
            raise NotAnOfd(f"unreadable ZIP container: {e}") from None
        if len(infos) > self.limits.max_entries:
            raise OfdTooComplex(f"more than {self.limits.max_entries} entries")
        self._infos: dict[str, zipfile.ZipInfo] = {}
        folded: set[str] = set()
        declared = 0
        for info in infos:
            name = check_entry_name(info.filename)
            if name in self._infos or name.casefold() in folded:
                raise UnsafeOfd(f"duplicate entry in OFD package: {name!r}")
            if info.flag_bits & 0x1:
                raise UnsafeOfd("encrypted entries are not supported")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise UnsafeOfd(f"unsupported compression in {name!r}")
            folded.add(name.casefold())
            self._infos[name] = info
            declared += info.file_size
        if declared > self.limits.max_total_bytes:
            raise OfdTooComplex("package expands beyond the size limit")
        self._read_total = 0
        self._cache: dict[str, bytes] = {}
        if "OFD.xml" not in self._infos:
            raise NotAnOfd("OFD.xml missing at the package root")

    def names(self) -> Iterator[str]:
        """File entries (directories left out), in container order."""
        return (n for n in self._infos if not n.endswith("/"))

    def exists(self, path: str) -> bool:
        return path in self._infos and not path.endswith("/")

    def read(self, path: str) -> bytes:
        if path in self._cache:
            return self._cache[path]
        info = self._infos.get(path)
        if info is None or path.endswith("/"):
            raise NotAnOfd(f"missing part in OFD package: /{path}")
        limit = min(self.limits.max_entry_bytes, self.limits.max_total_bytes - self._read_total)
        out = bytearray()
        try:
            with self._zip.open(info) as f:
                while chunk := f.read(_CHUNK):
                    out += chunk
                    if len(out) > limit:
                        raise OfdTooComplex(f"part /{path} expands beyond the size limit")
                    if len(out) > 1024 * 1024 and len(out) > MAX_RATIO * max(info.compress_size, 1):
                        raise OfdTooComplex(f"part /{path} has an implausible compression ratio")
        # NotImplementedError: zipfile's answer to an unsupported compression method
        except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError) as e:
            raise NotAnOfd(f"corrupt part /{path}: {e}") from None
        self._read_total += len(out)
        data = bytes(out)
        self._cache[path] = data
        return data

    def xml(self, path: str) -> etree._Element:
        return parse_xml(self.read(path), path)


_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)


def parse_xml(data: bytes, path: str = "?") -> etree._Element:
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise NotAnOfd(f"/{path} is not well-formed XML: {e}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeOfd(f"/{path} declares a DTD, which OFD does not allow")
    return root


def resolve_loc(loc: str, base_dir: str) -> str:
    """An ST_Loc (GB/T 33190 §7.3) to a package path: absolute when it starts with '/',
    else relative to ``base_dir`` (the directory of the referring file). Never escapes."""
    loc = loc.strip()
    if not loc or "\\" in loc or "\x00" in loc or "://" in loc:
        raise UnsafeOfd(f"unsafe location in OFD: {loc!r}")
    joined = loc[1:] if loc.startswith("/") else posixpath.join(base_dir, loc)
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafeOfd(f"location escapes the OFD package: {loc!r}")
            parts.pop()
        else:
            parts.append(part)
    if not parts:
        raise UnsafeOfd(f"empty location in OFD: {loc!r}")
    return "/".join(parts)


def local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def children(el: etree._Element, name: str) -> list[etree._Element]:
    """Child elements by local name: files in the wild use both the 2016 and the bare
    ``http://www.ofdspec.org`` namespace."""
    return [c for c in el if isinstance(c.tag, str) and local(c) == name]


def child(el: etree._Element, name: str) -> etree._Element | None:
    found = children(el, name)
    return found[0] if found else None


def text_of(el: etree._Element, name: str) -> str | None:
    c = child(el, name)
    return (c.text or "").strip() if c is not None else None
