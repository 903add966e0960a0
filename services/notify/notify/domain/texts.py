"""The words of every message, as the 吉事办 app shows them (pure; no I/O).

Times are shown in China Standard Time (Asia/Shanghai, UTC+8, no daylight saving) as
``YYYY-MM-DD HH:MM``; dates as ``YYYY-MM-DD``. A name notify does not know (its directory
has not seen the event that carries it) falls back to a neutral word instead of an empty
quote.
"""

from __future__ import annotations

from datetime import date, datetime

from shared.china_time import CHINA_TZ as CHINA

Text = tuple[str, str]  # (title, body)


def local_time(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def local_date(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def day(d: date | None) -> str:
    return d.isoformat() if d else "长期"


def seal(name: str | None) -> str:
    return f"印章「{name}」" if name else "印章"


def enterprise(name: str | None) -> str:
    return name or "企业"


def person(name: str | None) -> str:
    return name or "被授权人"


def validity(valid_from: date | None, valid_to: date | None) -> str:
    return f"有效期 {day(valid_from)} 至 {day(valid_to)}"


# seals ------------------------------------------------------------------------------

def seal_issued(seal_name: str | None, at: datetime) -> Text:
    return ("新增印章通知",
            f"您企业的{seal(seal_name)}已于 {local_time(at)} 生成，可在【我的印章】中查看并授权使用。")


def seal_revoked_for_enterprise(seal_name: str | None, at: datetime) -> Text:
    return ("印章作废通知",
            f"您企业的{seal(seal_name)}已于 {local_time(at)} 作废，被授权人将无法继续使用。")


def seal_revoked_for_grantee(enterprise_name: str | None, seal_name: str | None,
                             at: datetime) -> Text:
    return ("印章作废通知",
            (f"{enterprise(enterprise_name)}授权您使用的{seal(seal_name)}已于 {local_time(at)} 作废，"
             f"您将无法继续使用该印章。"))


# grants -----------------------------------------------------------------------------

def grant_added_for_person(enterprise_name: str | None, seal_name: str | None,
                           valid_from: date, valid_to: date) -> Text:
    return ("印章授权通知",
            (f"{enterprise(enterprise_name)}已授权您使用{seal(seal_name)}，"
             f"{validity(valid_from, valid_to)}。"))


def grant_added_for_enterprise(person_name: str | None, seal_name: str | None,
                               valid_from: date, valid_to: date) -> Text:
    return ("印章授权通知",
            (f"您企业已授权{person(person_name)}使用{seal(seal_name)}，"
             f"{validity(valid_from, valid_to)}。"))


def grant_updated_for_person(enterprise_name: str | None, seal_name: str | None,
                             valid_from: date, valid_to: date) -> Text:
    return ("印章授权变更通知",
            (f"{enterprise(enterprise_name)}已将您使用{seal(seal_name)}的授权变更为"
             f"{validity(valid_from, valid_to)}。"))


def grant_updated_for_enterprise(person_name: str | None, seal_name: str | None,
                                 valid_from: date, valid_to: date) -> Text:
    return ("印章授权变更通知",
            (f"您企业已将{person(person_name)}使用{seal(seal_name)}的授权变更为"
             f"{validity(valid_from, valid_to)}。"))


def grant_removed_for_person(enterprise_name: str | None, seal_name: str | None) -> Text:
    return ("印章授权取消通知",
            (f"{enterprise(enterprise_name)}已取消您使用{seal(seal_name)}的授权，"
             f"您将无法继续使用该印章。"))


def grant_removed_for_enterprise(person_name: str | None, seal_name: str | None) -> Text:
    return ("印章授权取消通知",
            f"您企业已取消{person(person_name)}使用{seal(seal_name)}的授权。")


# agents -----------------------------------------------------------------------------

def agent_added(enterprise_name: str | None, valid_from: date, valid_to: date,
                can_manage: bool) -> Text:
    scope = "可维护企业电子印章" if can_manage else "可查看企业电子印章"
    return ("经办人添加通知",
            (f"{enterprise(enterprise_name)}已将您添加为经办人，{validity(valid_from, valid_to)}，"
             f"{scope}。"))


def agent_removed(enterprise_name: str | None) -> Text:
    return ("经办人移除通知",
            f"{enterprise(enterprise_name)}已将您移出经办人，您将无法再以该企业经办人身份登录。")


# stamping ---------------------------------------------------------------------------

def stamp_applied(seal_name: str | None, person_name: str | None, document_title: str,
                  at: datetime) -> Text:
    document = f"文件《{document_title}》" if document_title else "文件"
    return ("印章使用通知",
            (f"您企业的{seal(seal_name)}已于 {local_time(at)} 由{person(person_name)}"
             f"用于{document}盖章。"))


# 用印审批 -------------------------------------------------------------------------------

_CAUSES = {"rejected": "审批人驳回", "expired": "审批超时", "seal_revoked": "印章已注销",
           "grant_revoked": "印章授权已撤销"}


def approval_requested(person_name: str, document_title: str, requester: str,
                       expires_at: datetime) -> Text:
    document = f"文件《{document_title}》" if document_title else "文件"
    source = f"（{requester}）" if requester else ""
    return ("用印审批",
            (f"{person(person_name)}申请使用印章为{document}{source}盖章，请在 "
             f"{local_time(expires_at)} 前到「用印审批」批准或驳回。"))


def approval_granted(document_title: str, at: datetime) -> Text:
    document = f"文件《{document_title}》" if document_title else "文件"
    return ("用印审批已通过", f"您为{document}的用印申请已于 {local_time(at)} 获批准，印章已加盖。")


def approval_rejected(document_title: str, cause: str, reason: str) -> Text:
    document = f"文件《{document_title}》" if document_title else "文件"
    why = _CAUSES.get(cause, cause) + (f"：{reason}" if reason else "")
    return ("用印审批未通过", f"您为{document}的用印申请未获批准（{why}），文件未盖章。")
