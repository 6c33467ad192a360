"""The service as a Model Context Protocol server: tools over the same services the HTTP routes use, served over stdio (`qa mcp`) and streamable HTTP (/mcp)."""
