"""Model wrappers for agent frameworks: they compress what the framework sends and answer
``headroom_retrieve`` themselves (see :mod:`headroom.adapters.loop`).

    from headroom.adapters import HeadroomChatModel     # LangChain: pip install 'headroom[langchain]'
    from headroom.adapters import HeadroomAgnoModel     # Agno:      pip install 'headroom[agno]'
    from headroom.adapters import HeadroomStrandsModel  # Strands:   pip install 'headroom[strands]'

Each name is imported on first use, so importing one framework's wrapper never imports
the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.adapters.agno import HeadroomAgnoModel
    from headroom.adapters.langchain import HeadroomChatModel
    from headroom.adapters.strands import HeadroomStrandsModel

__all__ = ["HeadroomAgnoModel", "HeadroomChatModel", "HeadroomStrandsModel"]

#: wrapper -> (its module and extra, the framework packages it imports)
_MODULES = {"HeadroomChatModel": ("langchain", ("langchain_core",)), "HeadroomAgnoModel": ("agno", ("agno",)),
            "HeadroomStrandsModel": ("strands", ("strands",))}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, packages = _MODULES[name]
    try:
        loaded = importlib.import_module(f"headroom.adapters.{module}")
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in packages:
            raise ImportError(f"{name} needs the {module!r} extra: pip install 'headroom[{module}]'") from exc
        raise
    return getattr(loaded, name)
