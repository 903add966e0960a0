"""The manual's password rule: "密码为 8-16 位数字、字母或符号至少 2 种的组合"."""

from __future__ import annotations

import string
from dataclasses import dataclass

from .errors import PasswordMismatch, WeakPassword

_DIGITS = frozenset(string.digits)
_LETTERS = frozenset(string.ascii_letters)
_SYMBOLS = frozenset(string.punctuation)
_ALLOWED = _DIGITS | _LETTERS | _SYMBOLS


@dataclass(frozen=True)
class PasswordRule:
    """8–16 characters of digits, ASCII letters and ASCII symbols, at least two kinds."""

    min_length: int = 8
    max_length: int = 16
    min_kinds: int = 2

    def violation(self, password: str) -> tuple[str, str] | None:
        """``(reason, message)`` when ``password`` breaks the rule, else None.

        reason is one of ``length``, ``invalid_character``, ``character_classes``.
        """
        if not self.min_length <= len(password) <= self.max_length:
            return "length", f"The password must have {self.min_length}–{self.max_length} characters."
        if not set(password) <= _ALLOWED:
            # spaces, CJK or control characters are not "digits, letters or symbols"
            return "invalid_character", "Only digits, letters and symbols are allowed."
        kinds = sum(bool(set(password) & kind) for kind in (_DIGITS, _LETTERS, _SYMBOLS))
        if kinds < self.min_kinds:
            return "character_classes", "Use at least two of: digits, letters, symbols."
        return None

    def require(
        self,
        password: str,
        confirm: str | None = None,
        *,
        field: str = "password",
        confirm_field: str = "password_confirm",
    ) -> None:
        """Raise ``WeakPassword`` or ``PasswordMismatch`` unless the new password is fine."""
        problem = self.violation(password)
        if problem is not None:
            raise WeakPassword(*problem, field=field)
        if confirm is not None and confirm != password:
            raise PasswordMismatch(field=confirm_field)
