/* Swagger UI on /openapi.json; "Try it out" requests carry the session's CSRF header. */
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // never call the public validator: the page makes no outside requests
  requestInterceptor: (request) => {
    request.headers["X-CSRF-Token"] = document.querySelector('meta[name="csrf-token"]').content;
    return request;
  },
});
