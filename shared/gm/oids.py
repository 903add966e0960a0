"""Object identifiers of the Chinese commercial cryptography (GM/T 0006) used here."""

from __future__ import annotations

SM2_WITH_SM3 = "1.2.156.10197.1.501"  # signature algorithm SM2-with-SM3
SM2_CURVE = "1.2.156.10197.1.301"  # named curve sm2p256v1 (parameters of id-ecPublicKey)
SM3 = "1.2.156.10197.1.401"  # hash algorithm
EC_PUBLIC_KEY = "1.2.840.10045.2.1"  # id-ecPublicKey (RFC 5480), used with the SM2 curve
