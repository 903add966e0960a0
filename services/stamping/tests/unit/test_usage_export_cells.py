"""The export's cells and file name, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from stamping.adapters.usage_export import HEADERS, cells, content_disposition, guard


def test_formula_starts_are_guarded_and_other_text_is_not() -> None:
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert guard(bad) == "'" + bad
    for fine in ("采购合同", "1-2", "a=b", ""):
        assert guard(fine) == fine


def test_a_row_in_china_time_with_the_type_name() -> None:
    rid, req = uuid.uuid4(), uuid.uuid4()
    row = dict(zip(HEADERS, cells({
        "used_at": datetime(2026, 3, 1, 16, 30, 5, tzinfo=UTC), "user_name": "张三",
        "enterprise_name": "测试公司", "seal_name": "测试公司合同专用章", "seal_type": "contract",
        "document_title": "-合同", "document_sha256": "ab" * 32, "requester": "审批系统",
        "kind": "ofd", "algorithm": "sm2-sm3", "record_id": rid, "request_id": req}), strict=True))
    assert row["使用时间"] == "2026-03-02 00:30:05"
    assert row["印章类型"] == "合同专用章" and row["文件名称"] == "'-合同"
    assert row["盖章方式/格式"].startswith("OFD") and row["签名算法"] == "SM2 / SM3"
    assert (row["记录编号"], row["请求编号"]) == (str(rid), str(req))


def test_the_file_name_is_rfc5987() -> None:
    value = content_disposition("印章使用记录_20260101-20260301.csv", "usage-records_20260101-20260301.csv")
    assert value == ("attachment; filename=\"usage-records_20260101-20260301.csv\"; filename*=UTF-8''"
                     "%E5%8D%B0%E7%AB%A0%E4%BD%BF%E7%94%A8%E8%AE%B0%E5%BD%95_20260101-20260301.csv")
