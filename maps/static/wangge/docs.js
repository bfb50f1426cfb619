/* /docs: Swagger UI from the app's own copy (maps/static/vendor/swagger-ui), on /openapi.json.
 * "Authorize" takes the token from POST /api/v1/auth/token (or uses the page's session). */
(function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
