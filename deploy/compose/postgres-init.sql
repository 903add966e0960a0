-- Runs once, when the compose PostgreSQL volume is first initialised: one database per
-- service, named ESEAL_DB_PREFIX + service (docs/CONVENTIONS.md). Migrations are applied
-- afterwards by the <service>-migrate jobs.
CREATE DATABASE eseal_gateway;
CREATE DATABASE eseal_identity;
CREATE DATABASE eseal_agents;
CREATE DATABASE eseal_certs;
CREATE DATABASE eseal_seals;
CREATE DATABASE eseal_stamping;
CREATE DATABASE eseal_notify;
