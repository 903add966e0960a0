"""Usage records as a file an enterprise downloads (导出): CSV (UTF-8 with a BOM, so that Excel
reads the Chinese) or XLSX (openpyxl, write-only: rows go to a temporary file as they come).

Headers are Chinese, times China time (UTC+8, ``shared.china_time``). Every text cell that a
spreadsheet could read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is prefixed with ``'`` (OWASP, CSV injection): titles, names and relying
systems' names come from outside.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import IO, Any
from urllib.parse import quote

from openpyxl import Workbook

from shared.china_time import CHINA_TZ

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
HEADERS = ("使用时间", "使用人", "企业名称", "印章名称", "印章类型", "文件名称", "文件摘要(SHA-256)",
           "盖章系统", "盖章方式/格式", "签名算法", "记录编号", "请求编号")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_KINDS = {"pdf": "PDF 文件（PAdES）", "ofd": "OFD 文件（GB/T 38540）", "digest": "文件摘要（CMS 签名）"}
_ALGORITHMS = {"ecdsa-p256-sha256": "ECDSA P-256 / SHA-256", "sm2-sm3": "SM2 / SM3"}
_CHUNK = 64 * 1024
# Records keep the seal type's code; the file shows its name. These are the seals service's
# catalogue (seals.adapters.rendering.seal_types; no service imports another): a code not
# listed here is shown as it is stored.
_SEAL_TYPES = {"official": "法定名称章", "contract": "合同专用章", "finance": "财务专用章",
               "hr": "人事专用章", "invoice": "发票专用章", "legal_representative": "法定代表人名章"}


def guard(cell: str) -> str:
    """A text cell a spreadsheet shows as text, never evaluates (``'`` before a formula start)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def cells(record: Any) -> list[str]:
    """One record's row (a usage_records row: a mapping), in the order of ``HEADERS``."""
    used_at = record["used_at"].astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
    kind = str(record["kind"])
    algorithm = record["algorithm"]
    seal_type = str(record["seal_type"])
    row = [used_at, record["user_name"], record["enterprise_name"], record["seal_name"],
           _SEAL_TYPES.get(seal_type, seal_type), record["document_title"], record["document_sha256"],
           record["requester"], _KINDS.get(kind, kind),
           _ALGORITHMS.get(algorithm, algorithm) if algorithm else "",
           str(record["record_id"]), str(record["request_id"])]
    return [guard(str(v)) for v in row]


def _csv_text(rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


async def csv_chunks(pages: AsyncIterator[Sequence[Any]]) -> AsyncIterator[bytes]:
    """The CSV, one chunk per page of records: the BOM and the headers first."""
    yield BOM.encode("utf-8") + _csv_text([HEADERS])
    async for page in pages:
        if page:
            yield _csv_text([cells(r) for r in page])


async def xlsx_file(pages: AsyncIterator[Sequence[Any]]) -> IO[bytes]:
    """The workbook in a temporary file (spooled in memory while small), positioned at 0."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("使用记录")
    ws.append(list(HEADERS))
    async for page in pages:
        for r in page:
            ws.append(cells(r))
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - the caller closes it
    await asyncio.to_thread(wb.save, out)
    out.seek(0)
    return out


def file_chunks(f: IO[bytes]) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def content_disposition(filename: str, ascii_fallback: str) -> str:
    """``attachment`` with the Chinese name as RFC 5987 ``filename*`` and an ASCII fallback."""
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
