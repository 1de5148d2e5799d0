// Starts Swagger UI on /docs from the settings the page carries as data attributes
// (a file rather than an inline script, so the page's CSP needs no 'unsafe-inline').
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = JSON.parse(container.getAttribute("data-config") || "{}");
  config.url = container.getAttribute("data-spec-url");
  config.dom_id = "#swagger-ui-container";
  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle(config);
  });
})();
