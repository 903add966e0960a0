"""Clients of external identity and messaging providers (Tencent Cloud API 3.0 so far).

Shared by the services' adapters: identity's face provider, agents' real-name verifier and
certs' SMS sender. The protocol lives here once; each service's adapter maps it to its port.
"""
