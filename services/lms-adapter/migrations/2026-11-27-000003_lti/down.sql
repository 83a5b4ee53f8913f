DROP TABLE known_awards;
DROP TABLE lti_registration_links;
DROP TABLE lti_deep_links;
DROP TABLE lti_contexts;
DROP TABLE lti_logins;
DROP TABLE lti_tool_keys;
DROP TABLE lti_platforms;
