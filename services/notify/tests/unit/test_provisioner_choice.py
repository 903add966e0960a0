"""Which provisioner the subscriber commands use, and the management password's sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from notify.adapters.broker import Broker
from notify.adapters.management import ManagementBroker
from notify.config import NotifySettings
from notify.entrypoints.cli import provisioner

AMQP = "amqp://guest:guest@127.0.0.1:5672/eseal"


def test_rabbitmqctl_without_a_management_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESEAL_RABBITMQ_MANAGEMENT_URL", raising=False)
    chosen = provisioner(NotifySettings(amqp_url=AMQP, rabbitmqctl="docker exec r rabbitmqctl"))
    assert chosen == Broker(AMQP, "docker exec r rabbitmqctl")


def test_the_management_api_when_its_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESEAL_RABBITMQ_MANAGEMENT_URL", "http://rabbitmq:15672")
    monkeypatch.setenv("ESEAL_RABBITMQ_MANAGEMENT_USER", "eseal-admin")
    monkeypatch.setenv("ESEAL_RABBITMQ_MANAGEMENT_PASSWORD", "s3cret-pw")
    chosen = provisioner(NotifySettings(amqp_url=AMQP))
    assert isinstance(chosen, ManagementBroker)
    assert (chosen.management_url, chosen.management_user, chosen.management_password) == \
        ("http://rabbitmq:15672", "eseal-admin", "s3cret-pw")
    assert chosen.vhost == "eseal"
    assert "s3cret-pw" not in repr(chosen)
    assert chosen._url("permissions", "/", "sub.x") == "http://rabbitmq:15672/api/permissions/%2F/sub.x"


def test_the_management_password_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-file\n", encoding="utf-8")
    monkeypatch.delenv("ESEAL_RABBITMQ_MANAGEMENT_PASSWORD", raising=False)
    monkeypatch.setenv("ESEAL_RABBITMQ_MANAGEMENT_URL", "http://rabbitmq:15672/")
    monkeypatch.setenv("ESEAL_RABBITMQ_MANAGEMENT_PASSWORD_FILE", str(secret))
    chosen = provisioner(NotifySettings(amqp_url=AMQP))
    assert isinstance(chosen, ManagementBroker) and chosen.management_password == "from-file"
    monkeypatch.setenv("ESEAL_RABBITMQ_MANAGEMENT_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="PASSWORD_FILE cannot be read"):
        provisioner(NotifySettings(amqp_url=AMQP))
