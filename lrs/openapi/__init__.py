"""The OpenAPI 3.1 contract of the LRS's own APIs (everything but /xapi): docs/openapi.md."""
