"""Typed application keys of the certs service."""

from __future__ import annotations

import asyncio

from aiohttp import web

from certs.adapters.clock import SystemClock
from certs.adapters.sms import SandboxSms
from certs.service_layer.context import Certs

CERTS = web.AppKey("certs", Certs)
# Set once the CA is loaded: event handlers started before that wait for it.
CERTS_READY = web.AppKey("certs_ready", asyncio.Event)
# Present only outside production: the sandbox SMS reader and the movable clock.
SANDBOX_SMS = web.AppKey("sandbox_sms", SandboxSms)
SANDBOX_CLOCK = web.AppKey("sandbox_clock", SystemClock)
