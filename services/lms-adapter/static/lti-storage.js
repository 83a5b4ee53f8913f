// LTI client-side postMessage storage: when the browser blocks our cookie
// inside the platform's iframe, the platform keeps the login's binding for us.
// Served as a file (no inline script, so the page's CSP can be script-src 'self');
// the values come from the page's data-* attributes.
(function () {
  var d = document.getElementById("lti-storage").dataset;
  var mode = d.mode, key = d.key, value = d.value, target = d.target, origin = d.origin, next = d.next;
  var frame = target === "_parent" ? window.parent : (window.parent.frames[target] || window.parent);
  var id = "akashi-" + Math.random().toString(36).slice(2);
  window.addEventListener("message", function (event) {
    var m = event.data || {};
    if (m.message_id !== id || (origin !== "*" && event.origin !== origin)) return;
    if (mode === "put" && m.subject === "lti.put_data.response") { window.location.href = next; }
    if (mode === "get" && m.subject === "lti.get_data.response") {
      document.querySelector("input[name=lti_storage_value]").value = m.value || "";
      document.getElementById("launch").submit();
    }
  });
  var message = mode === "put"
    ? { subject: "lti.put_data", message_id: id, key: key, value: value }
    : { subject: "lti.get_data", message_id: id, key: key };
  frame.postMessage(message, origin);
})();
