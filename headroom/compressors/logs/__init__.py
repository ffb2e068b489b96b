"""Logs and test-runner output: keep the rare, the failing and the asked-about lines;
collapse runs of common templates into counted markers."""

from headroom.compressors.logs.collapse import compress
from headroom.compressors.logs.runners import compress as compress_test_output

__all__ = ["compress", "compress_test_output"]
