"""The platform's services as a cluster gives them to actions, run here as real servers on
loopback ports: Redis (`redis.py`), an S3 store (`s3.py`), Postgres (`postgres.py`), Milvus
(`milvus.py`, through `milvus_server.py`); which a run starts, and their processes
(`manager.py`)."""
