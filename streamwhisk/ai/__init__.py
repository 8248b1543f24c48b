"""What the course's `ops ai` plugin gives a learner, as streamwhisk commands: `chat`, `new`,
`user` and `loader` (`commands.py`); `ops ai cli` is `streamwhisk shell`, `ops ai stream` is
`streamwhisk invoke --stream`."""
