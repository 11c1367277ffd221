// /docs: Swagger UI on the gateway's own OpenAPI document (no third-party host).
"use strict";

window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/api/V1/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    defaultModelExpandDepth: 3,
    persistAuthorization: false,
    validatorUrl: null,
  });
});
