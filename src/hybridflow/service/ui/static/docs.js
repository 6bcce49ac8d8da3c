/* Swagger UI on /openapi.json; "Try it out" requests carry the session's CSRF header. */
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  requestInterceptor: (request) => {
    request.headers["X-CSRF-Token"] = document.querySelector('meta[name="csrf-token"]').content;
    return request;
  },
});
