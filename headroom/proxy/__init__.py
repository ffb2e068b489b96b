"""``headroom proxy``: a compressing HTTP proxy in front of an LLM provider
(``pip install 'headroom[proxy]'``). The app is :func:`headroom.proxy.app.create_app`;
nothing is imported here, so ``headroom.proxy.upstream`` stays free of Starlette."""
