"""Presenters: how domain objects look on the wire, one module per noun, shared by routers
(a router never imports another router's helpers)."""
