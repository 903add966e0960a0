"""The evidence report of one usage record (出证报告): a PDF in Chinese, sealed by the platform.

Who may have it: the enterprise whose seal was used (its account, and its agents with the
management permission, as for the export) and the person who stamped. Anyone else — another
person, another enterprise, a clerk agent — gets 404 ``usage_record_not_found``: the record's
existence is not revealed.

What it says comes only from the platform's own records, never from anything a caller sends:

- the usage record (``usage_records``, from ``UsageRecorded``): the document's title and
  SHA-256, the relying system, the person, the seal, the certificate serials;
- the request's stream in stamping's event store: ``StampRequested`` (created),
  ``RequestScanned`` (the person's scan), ``UsageRecorded`` (it carries the person's signature
  over the authorization, which certs makes only after the certificate password: the
  "password entered" line, at the authorization's time), ``StampApplied`` (stamped);
- the stamped result the platform keeps (``stamp_results``): the RFC 3161 timestamp's time
  and the verification at report time (the same code as ``POST /api/v1/verifications``);
- certs (the certificates by serial: subject with ID numbers masked, validity, status) and
  seals (the seal's type, its enterprise's credit code, its status now).

Every timeline line names the event id behind it. Approval: when the seal needed 用印审批,
the request's ``ApprovalRequested`` and ``ApprovalGranted`` (both on the request's stream);
otherwise one line says none was needed (seals decided at the moment of the stamp, under its
locks, whether the grant allowed it) and names no event.

The report is then signed (invisible PAdES B-LT, RFC 3161 timestamp, revocation data embedded)
by the platform's own sealing certificate, issued by the platform's issuing CA (certs, role
``platform``), so ``POST /api/v1/verifications`` and any PAdES validator trusting the platform
root find it intact and signed by the platform.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms
from cryptography import x509

from shared.auth import Principal
from shared.china_time import CHINA_TZ
from shared.eventstore import StoredEvent
from shared.logging import get_logger
from shared.people.elements import mask

from ..adapters import repository
from ..adapters.loops import call_on
from ..adapters.pdf import offline_validation_context
from ..adapters.pdf.report import FontMissing, Line, render
from ..adapters.pdf.signing import sign_invisible
from ..domain.errors import EvidenceUnavailable, UsageRecordNotFound
from .context import Stamping
from .ports import CaBundle, CertificateInfo, PlatformCertificates, SealInfo
from .verification import verify

log = get_logger(__name__)

FIELD_NAME = "eseal-platform-evidence"
PLATFORM_NAME = "电子印章平台"
TITLE = "电子印章使用出证报告"
KIND_LABELS = {"pdf": "PDF 文件", "ofd": "OFD 文件", "digest": "文件摘要（平台未见原文）"}
RESULT_LABELS = {"passed": "通过", "failed": "未通过", "indeterminate": "无法确定"}
STATUS_LABELS = {"active": "有效", "revoked": "已吊销", "unknown": "未知"}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    label: str
    event_id: str | None  # the event behind the line; None: nothing happened (approval)
    detail: str = ""


@dataclass(frozen=True)
class CertificateLine:
    role: str  # 印章证书 | 个人证书 | 时间戳证书
    serial: str
    info: CertificateInfo | None


@dataclass(frozen=True)
class EvidenceFacts:
    """Everything the report states; each from the platform's records."""

    record: dict[str, Any]  # the usage_records row
    generated_at: datetime
    timeline: list[TimelineEntry]
    certificates: list[CertificateLine]
    person_id_masked: str | None
    enterprise_uscc_masked: str | None
    seal_type_label: str | None
    seal_status: str | None
    timestamp_at: datetime | None
    verification: dict[str, Any] | None  # this record's signature as verification reports it
    verification_overall: str | None
    report_id: uuid.UUID


# who may have it -------------------------------------------------------------------------


def may_see(principal: Principal, record: dict[str, Any]) -> bool:
    """The person who stamped, or the enterprise of the seal (its account; its agents with
    the management permission)."""
    if principal.role == "person":
        return bool(record["person_id"] == principal.id)
    if not principal.acts_for_enterprise or principal.enterprise_id != record["enterprise_id"]:
        return False
    return principal.role == "enterprise" or bool(principal.can_manage)


# the report ------------------------------------------------------------------------------


def china(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


_IDENTIFIERS = ("serialNumber", "2.5.4.5", "organizationIdentifier", "2.5.4.97")


def masked_subject(subject: str) -> str:
    """An RFC 4514 subject with its ID number and credit code masked (certs already masks the
    ID number; the credit code too, like the report's own line)."""
    parts = []
    for part in subject.split(","):
        key, sep, value = part.partition("=")
        parts.append(f"{key}{sep}{mask(value.strip())}" if key.strip() in _IDENTIFIERS and value else part)
    return ",".join(parts)


def _serial_number_in(subject: str) -> str | None:
    """The serialNumber attribute (ID number, masked by certs) of an RFC 4514 subject."""
    for part in subject.split(","):
        key, _, value = part.partition("=")
        if key.strip() in ("serialNumber", "2.5.4.5") and value:
            return mask(value.strip())
    return None


def report_lines(f: EvidenceFacts) -> list[Line]:
    """The report's text, line by line (pure: a unit test reads it)."""
    r = f.record
    lines = [
        Line(TITLE, "title"),
        Line(f"报告编号：{f.report_id}", "note"),
        Line(f"出具时间：{china(f.generated_at)}　出具方：{PLATFORM_NAME}", "note"),
        Line(f"使用记录编号：{r['record_id']}　盖章请求编号：{r['request_id']}", "note"),
        Line("一、文件", "heading"),
        Line(f"文件标题：{r['document_title']}", indent=12),
        Line(f"文件类型：{KIND_LABELS.get(r['kind'], r['kind'])}", indent=12),
        Line(f"原文 SHA-256：{r['document_sha256']}", indent=12),
        Line(f"盖章结果 SHA-256：{r['result_sha256']}", indent=12),
        Line("二、盖章系统", "heading"),
        Line(f"盖章系统：{r['requester']}（客户端编号 {r['client_id']}）", indent=12),
        Line("三、用章人与印章", "heading"),
        Line(f"用章人：{r['user_name']}　证件号码：{f.person_id_masked or '（未能查到）'}", indent=12),
        Line(f"用章人编号：{r['person_id']}", indent=12),
        Line(f"印章：{r['seal_name']}（{f.seal_type_label or r['seal_type']}）　印章编号：{r['seal_id']}",
             indent=12),
        Line(f"所属单位：{r['enterprise_name']}"
             f"　统一社会信用代码：{f.enterprise_uscc_masked or '（未能查到）'}", indent=12),
        Line(f"印章当前状态：{STATUS_LABELS.get(f.seal_status or 'unknown', f.seal_status or '未知')}",
             indent=12),
        Line("四、过程记录（时间为北京时间；每行注明其所依据的平台事件编号）", "heading"),
    ]
    lines += _timeline_lines(f)
    lines.append(Line("五、所用证书", "heading"))
    lines += _certificate_lines(f)
    lines.append(Line("六、出具报告时的验证结果", "heading"))
    lines += _verification_lines(f)
    lines += [
        Line("七、说明", "heading"),
        Line("本报告内容全部取自平台的事件记录、证书库与保存的盖章结果，不取自任何调用方提交的内容。"
             "证件号码仅显示末四位。", "note", indent=12),
        Line(f"本报告由{PLATFORM_NAME}以平台签章证书签署（PAdES，含时间戳），"
             "可通过平台验章接口（POST /api/v1/verifications）或任何信任平台根证书的 PDF 验证工具核验。",
             "note", indent=12),
    ]
    return lines


def _timeline_lines(f: EvidenceFacts) -> list[Line]:
    lines = []
    for n, entry in enumerate(f.timeline, start=1):
        lines.append(Line(f"{n}. {china(entry.at)}　{entry.label}", indent=12))
        if entry.detail:
            lines.append(Line(entry.detail, "note", indent=30))
        lines.append(Line(f"事件编号：{entry.event_id}" if entry.event_id else "事件编号：无（无此环节）",
                          "note", indent=30))
    return lines


def _certificate_lines(f: EvidenceFacts) -> list[Line]:
    lines = []
    for c in f.certificates:
        info = c.info
        lines.append(Line(f"{c.role}：序列号 {c.serial}", indent=12))
        if info is not None:
            lines += [Line(f"主体：{masked_subject(info.subject)}", "note", indent=30),
                      Line(f"颁发者：{info.issuer}", "note", indent=30),
                      Line(f"有效期：{china(info.not_before)} 至 {china(info.not_after)}", "note", indent=30),
                      Line(f"状态：{STATUS_LABELS.get(info.status, info.status)}"
                           + (f"（吊销于 {china(info.revoked_at)}）" if info.revoked_at else ""),
                           "note", indent=30)]
        else:
            lines.append(Line("（平台证书库中未查到此序列号）", "note", indent=30))
    return lines


def _verification_lines(f: EvidenceFacts) -> list[Line]:
    v = f.verification
    if v is None:
        return [Line("本次盖章为文件摘要签名（分离式 CMS），平台未保存原文，须与原文一并验证。"
                     if f.record["kind"] == "digest" else "未能对盖章结果进行验证。", indent=12)]
    overall = f.verification_overall or "—"
    lines = [
        Line(f"验证结论：{RESULT_LABELS.get(v['result'], v['result'])}"
             f"（整份文件：{RESULT_LABELS.get(overall, overall)}）", indent=12),
        Line(f"签名域：{v['field_name']}　文件完整：{_yes(v['intact'])}"
             f"　证书链可信：{_yes(v['trusted'])}　有时间戳：{_yes(v['timestamped'])}", indent=12),
        Line(f"签名时间：{china(_parse(v.get('signed_at')))}（来源：{v.get('signed_at_source') or '—'}）",
             indent=12),
    ]
    if v["reasons"]:
        lines.append(Line(f"说明：{', '.join(v['reasons'])}", "note", indent=30))
    return lines


def _yes(flag: object) -> str:
    return "是" if flag else "否"


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


# the facts -------------------------------------------------------------------------------


def timeline(events: Sequence[StoredEvent], scans: Sequence[Any], record: dict[str, Any],
             timestamp_at: datetime | None) -> list[TimelineEntry]:
    """The record's story from the request's stream and the person's scans, in order."""
    record_id = str(record["record_id"])
    out: list[TimelineEntry] = []
    for ev in events:
        if ev.type == "StampRequested":
            expires = china(_parse(ev.data.get("expires_at")))
            out.append(TimelineEntry(ev.occurred_at, f"盖章系统「{record['requester']}」创建盖章请求",
                                     str(ev.event_id), f"请求有效期至 {expires}"))
    scanned = [s for s in scans if s["scanned_at"] <= record["used_at"]]
    if scanned:
        last = scanned[-1]
        more = f"（共扫码 {len(scanned)} 次，此为盖章前最后一次）" if len(scanned) > 1 else ""
        out.append(TimelineEntry(last["scanned_at"], f"{record['user_name']} 扫描二维码{more}",
                                 str(last["event_id"])))
    recorded = next((ev for ev in events if ev.type == "UsageRecorded"
                     and ev.data.get("record_id") == record_id), None)
    applied = next((ev for ev in events if ev.type == "StampApplied"
                    and ev.data.get("record_id") == record_id), None)
    if recorded is not None:
        out.append(TimelineEntry(
            _authorized_at(record.get("authorization_text") or ""),
            f"{record['user_name']} 输入证书密码，以个人证书签署盖章授权",
            str(recorded.event_id),
            f"个人证书序列号 {record['person_certificate_serial']}；授权签名算法 "
            f"{record['person_signature_algorithm']}"))
    out.extend(_approval(events))
    if applied is not None:
        how = f"签名格式 {record.get('format') or '—'}，算法 {record.get('algorithm') or '—'}"
        out.append(TimelineEntry(record["used_at"], f"加盖「{record['seal_name']}」",
                                 str(applied.event_id), how))
    if timestamp_at is not None:
        out.append(TimelineEntry(timestamp_at, "时间戳服务（RFC 3161）签发时间戳",
                                 str(applied.event_id) if applied is not None else None,
                                 "时间取自盖章结果中签名所含的时间戳"))
    return sorted(out, key=lambda e: (e.at is None, e.at or record["used_at"]))


def _approval(events: Sequence[StoredEvent]) -> list[TimelineEntry]:
    """用印审批 lines: the request's approval events, or a line saying there was none."""
    requested = next((ev for ev in events if ev.type == "ApprovalRequested"), None)
    granted = next((ev for ev in events if ev.type == "ApprovalGranted"), None)
    if requested is None:
        return [TimelineEntry(None, "审批：该印章盖章时无需用印审批（印章服务在盖章时依授权实时核验）", None)]
    approvers = requested.data.get("approvers") or []
    expires = china(_parse(requested.data.get("expires_at")))
    lines = [TimelineEntry(requested.occurred_at, "提交用印审批，待审批人批准后加盖印章",
                           str(requested.event_id),
                           f"审批编号 {requested.data.get('approval_id')}；审批人 {len(approvers)} 位；"
                           f"审批期限至 {expires}")]
    if granted is not None:
        lines.append(TimelineEntry(_parse(granted.data.get("approved_at")) or granted.occurred_at,
                                   "审批人批准用印（已通过人脸核验）", str(granted.event_id),
                                   f"审批人账号 {granted.data.get('approved_by')}"))
    return lines


def _authorized_at(authorization: str) -> datetime | None:
    try:
        return _parse(json.loads(authorization).get("time"))
    except (ValueError, AttributeError):
        return None


def _same_serial(a: str, b: str) -> bool:
    try:
        return int(a, 16) == int(b, 16)
    except (TypeError, ValueError):
        return False


def _field_names(record: dict[str, Any]) -> tuple[str, ...]:
    index = record.get("placement_index") or 0
    base = f"eseal-{record['request_id']}"
    return (base, f"{base}-0") if index == 0 else (f"{base}-{index}",)


def this_signature(report: dict[str, Any], record: dict[str, Any]) -> dict[str, Any] | None:
    """The signature of this record in a verification answer: its field, else its certificate."""
    sigs = [s for s in report.get("signatures", [])
            if s.get("signer_certificate") and _same_serial(s["signer_certificate"]["serial"],
                                                            record["seal_certificate_serial"])]
    named = [s for s in sigs if s["field_name"] in _field_names(record)]
    found: dict[str, Any] | None = (named or sigs or [None])[0]
    return found


def cms_timestamp(der: bytes) -> datetime | None:
    """The RFC 3161 time in a detached CMS signature (a digest stamp's result)."""
    try:
        signed = cms.ContentInfo.load(der)["content"]
        for attr in signed["signer_infos"][0]["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]
                tst = token["content"]["encap_content_info"]["content"].parsed
                moment: datetime = tst["gen_time"].native
                return moment
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return None


async def _facts(ctx: Stamping, certs: PlatformCertificates, record: dict[str, Any]) -> EvidenceFacts:
    async with ctx.db.connection() as uow:
        events = await ctx.store.load(uow.conn, record["request_id"])
        scans = await repository.scans(uow.conn, record["request_id"], record["person_id"])
        stored = await repository.result(uow.conn, record["request_id"])
    seal_cert, person_cert, seal = await asyncio.gather(
        certs.certificate_by_serial(record["seal_certificate_serial"]),
        certs.certificate_by_serial(record["person_certificate_serial"]),
        _seal(ctx, record["seal_id"]))
    verification: dict[str, Any] | None = None
    overall: str | None = None
    timestamp_at: datetime | None = None
    if stored is not None and record["kind"] in ("pdf", "ofd"):
        answer = await verify(ctx, bytes(stored["content"]))
        overall = answer["result"]
        verification = this_signature(answer, record)
        if verification is not None and verification.get("signed_at_source") == "timestamp":
            timestamp_at = _parse(verification.get("signed_at"))
    elif stored is not None:
        timestamp_at = cms_timestamp(bytes(stored["content"]))
    certificates = [CertificateLine("印章证书", record["seal_certificate_serial"], seal_cert),
                    CertificateLine("个人证书", record["person_certificate_serial"], person_cert)]
    return EvidenceFacts(
        record=record, generated_at=ctx.clock(),
        timeline=timeline(events, scans, record, timestamp_at), certificates=certificates,
        person_id_masked=_serial_number_in(person_cert.subject) if person_cert else None,
        enterprise_uscc_masked=mask(seal.enterprise_uscc) if seal and seal.enterprise_uscc else None,
        seal_type_label=seal.type_label if seal else None,
        seal_status=seal.status if seal else None, timestamp_at=timestamp_at,
        verification=verification, verification_overall=overall, report_id=uuid.uuid4())


async def _seal(ctx: Stamping, seal_id: uuid.UUID) -> SealInfo | None:
    try:
        return await ctx.seals.seal(seal_id)
    except Exception as e:  # noqa: BLE001 - the report then says it could not find out
        log.warning("evidence_seal_unavailable", seal_id=str(seal_id), error=repr(e)[:200])
        return None


# signing ---------------------------------------------------------------------------------


class _PlatformDigestSigner:
    """pyHanko's ``DigestSigner`` port: certs signs with the platform's key, on the main loop."""

    def __init__(self, certs: PlatformCertificates, loop: asyncio.AbstractEventLoop) -> None:
        self.certs, self.loop = certs, loop

    async def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        signed = await call_on(self.loop, self.certs.platform_sign(digest))
        return signed.signature


def _chain(ca: CaBundle) -> list[x509.Certificate]:
    assert ca.platform is not None
    return [ca.platform, ca.issuing, ca.root]


@dataclass(frozen=True)
class EvidenceReport:
    record_id: uuid.UUID
    content: bytes


async def evidence_report(ctx: Stamping, principal: Principal, record_id: uuid.UUID) -> EvidenceReport:
    async with ctx.db.connection() as uow:
        row = await repository.usage_record(uow.conn, record_id)
    record = dict(row) if row is not None else None
    if record is None or not may_see(principal, record):
        raise UsageRecordNotFound("no such usage record")
    certs = ctx.platform
    ca = await ctx.ca.current()
    if certs is None or ca.platform is None:
        raise EvidenceUnavailable("the platform's sealing certificate is not available")
    facts = await _facts(ctx, certs, record)
    lines = report_lines(facts)
    signer = _PlatformDigestSigner(certs, asyncio.get_running_loop())
    vc_roots, crls = [ca.root], ca.crls

    async def job() -> bytes:
        try:
            pdf = render(lines, title=f"{TITLE} {record_id}")
        except FontMissing as e:  # an installation without fonts-noto-cjk: 503, not a 500
            raise EvidenceUnavailable(str(e)) from e
        return await sign_invisible(
            pdf, field_name=FIELD_NAME, signer=signer, chain=_chain(ca), timestamper=ctx.timestamper,
            validation_context_for_lt=offline_validation_context(vc_roots, crls=crls,
                                                                 other_certs=[ca.issuing]),
            reason=f"{PLATFORM_NAME}出具使用记录 {record_id} 的出证报告", signer_name=PLATFORM_NAME)

    content = await ctx.workers.run(job)
    log.info("evidence_report_made", record_id=str(record_id), report_id=str(facts.report_id),
             viewer_role=principal.role)
    return EvidenceReport(record_id, content)
