// Dynamic registration is done: tell the platform to close its dialog.
(window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*");
