"""National (商用密码) cryptography: SM2/SM3 keys and signatures, SM2 certificates (GM/T 0015),
PKCS#12 reading, and GB/T 38540 seal/signature structures.

The arithmetic is delegated to gmalglib (C) and `cryptography`'s SM3; this package only lays
out the bytes the standards prescribe. Nothing here touches services: callers wire it in.
"""
