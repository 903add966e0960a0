"""The identity elements of people and enterprises, as every service checks them.

``elements`` holds the pure rules (GB 11643 ID numbers, GB 32100 credit codes, phone
numbers, names, the password rule, the masking rule); ``fields`` the pydantic field types
and request-body validators built on them. identity and agents both validate with these,
so both accept and refuse the same values (a service never imports another service).
"""
