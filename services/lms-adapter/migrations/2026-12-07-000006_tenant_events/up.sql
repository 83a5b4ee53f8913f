-- Events belong to a tenant through what delivered them: the webhook
-- source's tenant, or the LTI platform's. NULL is a shared source (set
-- by the operator for every tenant: a single-institution deployment);
-- a tenant's rules see only its own events and shared ones.
ALTER TABLE webhook_sources ADD COLUMN tenant_issuer_id uuid;
ALTER TABLE lms_events ADD COLUMN tenant_issuer_id uuid;
CREATE INDEX lms_events_tenant_course ON lms_events (tenant_issuer_id, course_id);
