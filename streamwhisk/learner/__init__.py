"""What the course's `ops ai` plugin gives a learner, as streamwhisk commands: `chat`,
`new`, `user` and `loader` (`cli/learner.py`, over the modules here); `ops ai cli` is
`streamwhisk shell`, `ops ai stream` is `streamwhisk invoke --stream`."""
