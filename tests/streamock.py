"""The lesson's `import streamock` (after `sys.path.append("tests")`): streamwhisk's mock."""

from streamwhisk.testing.streamock import StreamArgs, StreamedBytes, StreamMock, args, start, stop

__all__ = ["StreamArgs", "StreamMock", "StreamedBytes", "args", "start", "stop"]
