-- identity: login through an external OpenID Connect provider (统一身份认证).

-- One row per login begun at the provider: the state is the key (single use, ~10 minutes);
-- the nonce and the PKCE code verifier stay here, never in the browser.
CREATE TABLE oidc_logins (
    state         text        PRIMARY KEY,
    nonce         text        NOT NULL,
    code_verifier text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);

-- The provider's subject bound to a platform account (first login: by the verified identity
-- number). One account per subject, one subject per account and issuer.
CREATE TABLE oidc_bindings (
    issuer       text        NOT NULL,
    subject      text        NOT NULL,
    principal_id uuid        NOT NULL REFERENCES accounts (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX oidc_bindings_principal ON oidc_bindings (issuer, principal_id);
