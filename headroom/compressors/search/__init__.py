"""grep / ripgrep results: group by file losslessly, then keep the best matches."""

from headroom.compressors.search.grep import compress

__all__ = ["compress"]
