"""ASGI middleware for Starlette, FastAPI and any ASGI app::

    app.add_middleware(CompressionMiddleware, min_body_bytes=4096)

Needs ``anyio`` (installed with Starlette/FastAPI/uvicorn; ``pip install headroom[proxy]``).
"""

from __future__ import annotations

from headroom.middleware.asgi import DEFAULT_PATHS, CompressionMiddleware

__all__ = ["DEFAULT_PATHS", "CompressionMiddleware"]
