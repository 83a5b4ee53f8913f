DROP INDEX lms_events_tenant_course;
ALTER TABLE lms_events DROP COLUMN tenant_issuer_id;
ALTER TABLE webhook_sources DROP COLUMN tenant_issuer_id;
