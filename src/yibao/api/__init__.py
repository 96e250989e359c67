"""The HTTP service (issue 5): FastAPI, versioned under ``/api/v1``, OpenAPI at ``/openapi.json``.

:func:`yibao.api.app.create_app` builds the application; ``yibao serve`` runs it with uvicorn.
"""
