"""The agreements a user accepts when activating a certificate (manual 二.3 (2):
"用户需要同意数字证书等协议才可以使用印章功能").

The current versions live here, in code: publishing a new version is a release, and
from then on activation requires the new version. An acceptance is stored with the
version accepted (in the certificate's event stream).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import AgreementsNotAccepted, UnknownAgreement


@dataclass(frozen=True)
class Agreement:
    code: str
    version: str
    title: str
    text: str


CERTIFICATE_SERVICE = Agreement(
    code="certificate_service",
    version="2026-01",
    title="数字证书服务协议",
    text=(
        "一、本协议由您（证书订户）与电子印章平台数字证书服务方（以下简称“平台”）订立。"
        "您激活数字证书，即表示您已阅读并同意本协议全部条款。\n"
        "二、平台依据您在统一身份认证中登记并经核验的身份信息（自然人为姓名、证件号码；"
        "企业为名称、统一社会信用代码）签发数字证书，证书用于在本平台上进行电子签名和加盖电子印章。\n"
        "三、证书私钥由平台在安全环境中生成并加密保存，只有使用您设置的证书密码才能启用。"
        "请妥善保管证书密码，不得告知他人；连续输入错误5次，证书将被临时锁定15分钟。\n"
        "四、因您泄露证书密码或手机验证码造成的损失，由您自行承担。发现证书密码泄露时，"
        "请立即修改证书密码并联系客服。\n"
        "五、证书有效期届满、您的身份信息变更或账户注销时，平台可依法吊销证书并在证书吊销列表中公布。"
    ),
)

SEAL_USAGE = Agreement(
    code="seal_usage",
    version="2026-01",
    title="电子印章使用协议",
    text=(
        "一、电子印章与实物印章具有同等法律效力，仅限在本平台及接入本平台的盖章系统中使用。\n"
        "二、企业应对其申请、授权和作废电子印章的行为负责，并确保被授权人在授权范围和有效期内用章。\n"
        "三、每次用章均须输入证书密码验证，平台记录印章使用记录（用章人、企业、时间、文件摘要），"
        "供企业查询。\n"
        "四、电子印章作废后立即失效，不能再用于盖章；作废前已加盖的文件仍可验证。"
    ),
)

PRIVACY_POLICY = Agreement(
    code="privacy_policy",
    version="2026-01",
    title="隐私政策",
    text=(
        "一、为签发数字证书，平台处理您的姓名、证件号码、手机号码，企业名称及统一社会信用代码。\n"
        "二、证件号码仅写入数字证书并用于身份识别；在页面展示时只显示后4位。\n"
        "三、平台不保存您的证书密码，也不会以任何方式向您索要证书密码或短信验证码。\n"
        "四、除法律法规规定外，平台不会向第三方提供您的个人信息。"
    ),
)

CURRENT_AGREEMENTS: tuple[Agreement, ...] = (CERTIFICATE_SERVICE, SEAL_USAGE, PRIVACY_POLICY)


def require_all_accepted(
    accepted: Iterable[tuple[str, str]],
    current: Sequence[Agreement] = CURRENT_AGREEMENTS,
) -> list[tuple[str, str]]:
    """The ``(code, version)`` pairs accepted, once every current agreement is among them.

    An unknown code is refused; an old version of a known agreement does not count.
    """
    given = set(accepted)
    known = {a.code for a in current}
    for code, version in sorted(given):
        if code not in known:
            raise UnknownAgreement(code, version)
    missing = [(a.code, a.version) for a in current if (a.code, a.version) not in given]
    if missing:
        raise AgreementsNotAccepted(missing)
    return [(a.code, a.version) for a in current]
