"""Generic HTTP hosting, knowing nothing of OpenWhisk: serving apps under uvicorn (and TLS
beside plain HTTP on one address), the limits on what a client may send, and the Host and
origin rules."""
