#--web true
#--kind python:default
#--param OLLAMA_HOST $OLLAMA_HOST
#--param AUTH ${AUTH:-}
#--timeout 600000
#--annotation index '30:Chat:Stateless'
#--annotation description "The lesson's streaming chat: type llama or deepseek to switch model."
"""The lesson's streaming chat with Ollama; the logic lives in stateless.py."""

import stateless


def main(args):
    return stateless.stateless(args)
