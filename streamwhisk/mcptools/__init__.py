"""Actions as MCP tools: OpenServerless's `mcp:*` annotation convention (`convention.py`), a
package's MCP server on the official SDK (`server.py`), served over stdio by `streamwhisk mcp`
and over Streamable HTTP by `up` (`http.py`)."""
